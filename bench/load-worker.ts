import autocannon from 'autocannon';
import type { LoadSpec } from './load.js';
import type { Measurement } from './measurement.js';

/**
 * Child side of openLoadGenerator: runs each LoadSpec it receives, one at a time, and sends back
 * its Measurement; exits when the parent closes the channel.
 */
process.on('message', (spec: LoadSpec) => {
  measure(spec).then(
    (measurement) => process.send!(measurement),
    (error: unknown) => {
      console.error('load generator failed:', error);
      process.exit(1);
    },
  );
});
process.once('disconnect', () => process.exit(0));

async function measure(spec: LoadSpec): Promise<Measurement> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (spec.token) headers.authorization = `Bearer ${spec.token}`;
  // A list of bodies: one counter shared by every connection, so concurrent requests take
  // different bodies (not all connections the same one in step, as a static `requests` list would).
  const bodies = typeof spec.body === 'string' ? null : spec.body;
  if (bodies && !bodies.length) throw new Error('empty list of bodies');
  let next = 0;
  let refused = 0;
  const result = await autocannon({
    url: spec.url,
    method: 'POST',
    headers,
    ...(spec.refreshTokens ? { requests: [refreshChain(spec.body as string, spec.refreshTokens)] } : {}),
    ...(spec.refreshTokens
      ? {}
      : bodies
        ? { requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) }] }
        : { body: spec.body as string }),
    connections: spec.connections,
    duration: spec.seconds,
    timeout: 10,
    // A 200 carrying a GraphQL error is a failure too; autocannon counts these as mismatches.
    verifyBody: (body) => {
      const text = String(body);
      if (spec.refused && text.includes(spec.refused)) {
        refused++;
        return true;
      }
      return text.includes(spec.expect) && !text.includes('"errors"');
    },
  });
  return {
    connections: spec.connections,
    reqPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    badBodies: result.mismatches,
    ...(spec.refused ? { refused } : {}),
  };
}

/**
 * Refresh tokens taken from a pool by each request and the rotated one put back from its answer
 * (autocannon resets a connection's context after each pass of `requests`, so the pool is what
 * carries a session's token from one request to the next). As many tokens as connections: each
 * request in flight holds one.
 */
function refreshChain(template: string, tokens: string[]): autocannon.Request {
  const pool = [...tokens];
  return {
    setupRequest: (request) => {
      const token = pool.shift();
      if (!token) throw new Error('more requests in flight than refresh tokens');
      return { ...request, body: template.replace('$TOKEN', token) };
    },
    onResponse: (_status, body) => {
      const rotated = /"refreshToken":"([^"]+)"/.exec(String(body))?.[1];
      if (rotated) pool.push(rotated);
    },
  };
}
