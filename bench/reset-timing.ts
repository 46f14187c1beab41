import { randomBytes } from 'node:crypto';
import type { Backends } from './backends.js';
import { createCleanup, type Cleanup } from './cleanup.js';
import { graphqlBody, postGraphql } from './graphql-client.js';
import type { LoadSpec } from './load.js';
import type { Measurement } from './measurement.js';
import { startGateway } from './servers.js';

export type ResetTimingSettings = {
  /** Connections of both runs (BENCH_RESET_CONNECTIONS). */
  connections: number;
  /** Registered addresses the known run cycles through, and as many unknown ones (BENCH_RESET_USERS). */
  users: number;
};

/**
 * Loopback is one client IP, and the same addresses are asked again and again: lift the send
 * limits (per IP, per recipient) so the runs measure the answer, not the limiter.
 */
const SEND_LIMITS = 'send.ip=1000000000/1m,send.recipient=1000000000/1m,sendHourly.recipient=1000000000/1m';
const RESET = 'mutation Reset($email: String!) { requestPasswordReset(email: $email) }';
const REGISTER = 'mutation Register($input: RegisterInput!) { register(input: $input) { user { id } } }';

type Measure = (label: string, spec: Omit<LoadSpec, 'seconds'>) => Promise<Measurement>;

/**
 * "reset known/unknown": requestPasswordReset for addresses that have an account vs addresses
 * that do not, at the same concurrency, one run after the other. The answer must not tell them
 * apart by its timing either (OWASP Forgot Password; ASVS 5.0 V6.3.7). The gateway is an
 * instance of its own, stopped once measured: the send limits stay as deployed on the other
 * one, and its LOG_LEVEL is `error`, because without SMTP_URL every mail becomes a log line
 * (a warning in production mode), written after the answer but on the same cores.
 */
export async function runResetTiming(
  input: { backends: Backends; secretKey: string; settings: ResetTimingSettings },
  measure: Measure,
  cleanup: Cleanup,
  signal: AbortSignal,
): Promise<{ known: Measurement; unknown: Measurement }> {
  const { connections, users } = input.settings;
  const own = createCleanup();
  cleanup.add('stop the reset gateway', () => own.run());
  try {
    const url = await startGateway(input.backends, own, { secretKey: input.secretKey, rateLimits: SEND_LIMITS, logLevel: 'error' });
    const run = randomBytes(4).toString('hex');
    // The same shape and length: only whether an account has the address differs.
    const address = (kind: 'k' | 'u', i: number) => `bench-reset-${run}-${kind}${String(i).padStart(6, '0')}@example.com`;
    const known = Array.from({ length: users }, (_, i) => address('k', i));
    const unknown = Array.from({ length: users }, (_, i) => address('u', i));
    console.log(`reset known/unknown: registering ${users} users`);
    await registerAll(url, known, signal);
    const spec = (emails: string[]) => ({
      url,
      body: emails.map((email) => graphqlBody(RESET, { email })),
      connections,
      expect: '"requestPasswordReset":true',
    });
    const knownRun = await measure(`reset known (${users} addresses in turn)`, spec(known));
    const unknownRun = await measure(`reset unknown (${users} addresses in turn)`, spec(unknown));
    return { known: knownRun, unknown: unknownRun };
  } finally {
    await own.run();
  }
}

/** A few at a time: each registration hashes a password with argon2. */
async function registerAll(url: string, emails: string[], signal: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < emails.length) {
      signal.throwIfAborted();
      const email = emails[next++]!;
      const password = randomBytes(18).toString('base64url');
      await postGraphql(url, graphqlBody(REGISTER, { input: { email, password } }));
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}
