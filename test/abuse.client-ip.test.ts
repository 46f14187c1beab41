import { beforeAll, describe, expect, it } from 'vitest';
import { clientIp } from '../src/shared/client-ip.js';
import { backends, useTestApp } from './support/app.js';
import { auditRows, AUTH_FIELDS, PASSWORD, signUp, uniqueEmail } from './support/actions.js';

describe('clientIp', () => {
  const xff = '203.0.113.9, 198.51.100.7, 10.0.0.2';
  it('ignores X-Forwarded-For unless told to trust proxies', () => {
    expect(clientIp('10.0.0.1', xff, { kind: 'none' })).toBe('10.0.0.1');
    expect(clientIp('::ffff:127.0.0.1', null, { kind: 'none' })).toBe('127.0.0.1');
  });
  it('trusts as many hops as configured, counted from the socket', () => {
    expect(clientIp('10.0.0.1', xff, { kind: 'hops', hops: 1 })).toBe('10.0.0.2');
    expect(clientIp('10.0.0.1', xff, { kind: 'hops', hops: 2 })).toBe('198.51.100.7');
    expect(clientIp('10.0.0.1', xff, { kind: 'hops', hops: 9 })).toBe('203.0.113.9');
  });
  it('skips only the listed proxies', () => {
    expect(clientIp('10.0.0.1', xff, { kind: 'list', ips: ['10.0.0.1', '10.0.0.2'] })).toBe('198.51.100.7');
    expect(clientIp('192.0.2.1', xff, { kind: 'list', ips: ['10.0.0.1'] })).toBe('192.0.2.1');
  });
  it('regression: trusts CIDR ranges and named ranges in the list (proxy-addr)', () => {
    const chain = '203.0.113.9, 10.1.2.3, 10.200.0.4';
    expect(clientIp('127.0.0.1', chain, { kind: 'list', ips: ['10.0.0.0/8', 'loopback'] })).toBe('203.0.113.9');
    expect(clientIp('::ffff:127.0.0.1', chain, { kind: 'list', ips: ['10.0.0.0/8', 'loopback'] })).toBe('203.0.113.9');
    expect(clientIp('127.0.0.1', chain, { kind: 'list', ips: ['10.200.0.0/16', '127.0.0.1'] })).toBe('10.1.2.3');
    expect(clientIp('::1', '2001:db8::5, fd00::7', { kind: 'list', ips: ['uniquelocal', 'loopback'] })).toBe('2001:db8::5');
    // A range does not trust what lies outside it.
    expect(clientIp('192.0.2.1', chain, { kind: 'list', ips: ['10.0.0.0/8'] })).toBe('192.0.2.1');
  });
  it('takes the left-most address when every hop is trusted', () => {
    expect(clientIp('10.0.0.1', xff, { kind: 'all' })).toBe('203.0.113.9');
  });
});

/** Logs in over a real socket (the peer is 127.0.0.1) with a forged or proxied X-Forwarded-For. */
async function loginVia(url: string, email: string, password: string, forwardedFor: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ query: `mutation($i: LoginInput!) { login(input: $i) { ${AUTH_FIELDS} } }`, variables: { i: { email, password } } }),
  });
  return (await response.json()) as { data: any; errors?: Array<{ extensions: { code: string } }> };
}

describe.each(backends())('client IP behind a proxy (%s)', (backend) => {
  const env = { RATE_LIMITS: 'login.ip=2/1m' };
  const trusting = useTestApp(backend, { env: { ...env, TRUST_PROXY: '1' } });
  const direct = useTestApp(backend, { env });
  let urls: { trusting: string; direct: string };
  beforeAll(async () => {
    urls = { trusting: await trusting.listen(), direct: await direct.listen() };
  });

  it('records and limits the forwarded client with TRUST_PROXY=1', async () => {
    const user = await signUp(trusting);
    const ok = await loginVia(urls.trusting, user.email, PASSWORD, '203.0.113.50');
    expect(ok.errors).toBeUndefined();
    const [row] = await auditRows(trusting, { userId: user.userId, action: 'user.login' });
    expect(row!.ip).toBe('203.0.113.50');
    // Each client address has its own bucket.
    await loginVia(urls.trusting, uniqueEmail(), 'wrong password!', '203.0.113.50');
    expect((await loginVia(urls.trusting, uniqueEmail(), 'wrong password!', '203.0.113.50')).errors?.[0]?.extensions.code).toBe('RATE_LIMITED');
    expect((await loginVia(urls.trusting, uniqueEmail(), 'wrong password!', '203.0.113.51')).errors?.[0]?.extensions.code).toBe('INVALID_CREDENTIALS');
  });

  it('ignores a client-supplied X-Forwarded-For without TRUST_PROXY', async () => {
    const user = await signUp(direct);
    await loginVia(urls.direct, user.email, PASSWORD, '203.0.113.60');
    const [row] = await auditRows(direct, { userId: user.userId, action: 'user.login' });
    expect(row!.ip).toBe('127.0.0.1');
    // Rotating forged addresses does not escape the limit.
    await loginVia(urls.direct, uniqueEmail(), 'wrong password!', '203.0.113.61');
    expect((await loginVia(urls.direct, uniqueEmail(), 'wrong password!', '203.0.113.62')).errors?.[0]?.extensions.code).toBe('RATE_LIMITED');
  });
});

describe.each(backends())('client IP behind a proxy in a trusted range (%s)', (backend) => {
  const app = useTestApp(backend, { env: { TRUST_PROXY: '127.0.0.0/8, 10.0.0.0/8' } });
  let url: string;
  beforeAll(async () => {
    url = await app.listen();
  });

  it('regression: records the client left of proxies matched by TRUST_PROXY CIDR ranges', async () => {
    const user = await signUp(app);
    // The peer (127.0.0.1) and the inner proxy (10.9.8.7) are in the ranges; 203.0.113.70 is the client.
    expect((await loginVia(url, user.email, PASSWORD, '198.51.100.1, 203.0.113.70, 10.9.8.7')).errors).toBeUndefined();
    const [row] = await auditRows(app, { userId: user.userId, action: 'user.login' });
    expect(row!.ip).toBe('203.0.113.70');
  });
});
