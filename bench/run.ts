/**
 * `npm run bench`: the ratios of DESIGN.md "Performance", measured in one run on loopback.
 *   me/bare       gateway `me` with a valid token vs a bare yoga `{ __typename }` server
 *   login/argon2  gateway `login` vs argon2id verify alone, at the same concurrency
 *   audit fan-out auditEvents delivery latency p50/p99 to BENCH_SUBSCRIBERS graphql-ws
 *                 subscribers on a second instance, and that instance's memory (real backends only)
 * Settings (env): BENCH_SECONDS (10 per run), BENCH_WARMUP_SECONDS (2, before each HTTP run),
 * BENCH_CONNECTIONS (50, bare and me), BENCH_LOGIN_CONNECTIONS (2 × CPUs, login and argon2);
 * BENCH_SUBSCRIBERS (1000), BENCH_AUDIT_EVENTS (200), BENCH_AUDIT_RATE (20 per s),
 * BENCH_AUDIT_SESSIONS (10 admin sessions the subscribers share);
 * DATABASE_URL + REDIS_URL to measure against existing servers.
 * Exits 1 on an error or a failed request, never on a missed target.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { runArgon2Ceiling } from './argon2-ceiling.js';
import { auditFanoutFailures, printAuditFanout, runAuditFanout, type AuditFanoutSettings } from './audit-fanout.js';
import { provideBackends } from './backends.js';
import { createCleanup, type Cleanup } from './cleanup.js';
import { graphqlBody, postGraphql } from './graphql-client.js';
import { runLoad, type LoadSpec } from './load.js';
import { failures, type Measurement } from './measurement.js';
import { printReport, type Results } from './report.js';
import { startBareYoga, startGateway } from './servers.js';

type Settings = { seconds: number; warmupSeconds: number; connections: number; loginConnections: number; audit: AuditFanoutSettings };
type User = { email: string; password: string; accessToken: string };

function readSettings(env: NodeJS.ProcessEnv): Settings {
  return {
    seconds: integerSetting(env, 'BENCH_SECONDS', 10, 1),
    warmupSeconds: integerSetting(env, 'BENCH_WARMUP_SECONDS', 2, 0),
    connections: integerSetting(env, 'BENCH_CONNECTIONS', 50, 1),
    loginConnections: integerSetting(env, 'BENCH_LOGIN_CONNECTIONS', 2 * availableParallelism(), 1),
    audit: {
      subscribers: integerSetting(env, 'BENCH_SUBSCRIBERS', 1000, 1),
      events: integerSetting(env, 'BENCH_AUDIT_EVENTS', 200, 1),
      ratePerSecond: integerSetting(env, 'BENCH_AUDIT_RATE', 20, 1),
      sessions: integerSetting(env, 'BENCH_AUDIT_SESSIONS', 10, 1),
    },
  };
}

function integerSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}`);
  return value;
}

async function registerUser(gatewayUrl: string): Promise<User> {
  const email = `bench-${randomBytes(6).toString('hex')}@example.com`;
  const password = randomBytes(18).toString('base64url');
  const query = 'mutation Register($input: RegisterInput!) { register(input: $input) { auth { accessToken } } }';
  const data = await postGraphql(gatewayUrl, graphqlBody(query, { input: { email, password } }));
  const accessToken = (data.register as { auth: { accessToken: string } | null }).auth?.accessToken;
  if (!accessToken) throw new Error('register returned no access token (is email verification required?)');
  return { email, password, accessToken };
}

/** A `me` run that only measured UNAUTHENTICATED answers would be meaningless: check first. */
async function assertMe(gatewayUrl: string, user: User): Promise<void> {
  const data = await postGraphql(gatewayUrl, graphqlBody('query { me { id email } }'), user.accessToken).catch((error: Error) => {
    throw new Error(`me with the fresh access token failed, not benchmarking: ${error.message}`);
  });
  const me = data.me as { email?: string } | null;
  if (me?.email !== user.email) throw new Error(`me returned ${JSON.stringify(me)}, expected ${user.email}`);
}

async function measureHttp(label: string, spec: Omit<LoadSpec, 'seconds'>, settings: Settings, signal: AbortSignal): Promise<Measurement> {
  console.log(`${label}: ${spec.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s`);
  if (settings.warmupSeconds) await runLoad({ ...spec, seconds: settings.warmupSeconds }, signal);
  return runLoad({ ...spec, seconds: settings.seconds }, signal);
}

async function measureAll(urls: { bare: string; gateway: string }, user: User, settings: Settings, signal: AbortSignal): Promise<Results> {
  const { connections, loginConnections: loginConns } = settings;
  const bareSpec = { url: urls.bare, body: graphqlBody('{ __typename }'), connections, expect: '"__typename":"Query"' };
  const bare = await measureHttp('bare', bareSpec, settings, signal);
  const meBody = graphqlBody('query { me { id email } }');
  const meSpec = { url: urls.gateway, body: meBody, token: user.accessToken, connections, expect: `"email":"${user.email}"` };
  const me = await measureHttp('me', meSpec, settings, signal);
  const loginQuery = 'mutation Login($input: LoginInput!) { login(input: $input) { accessToken } }';
  const loginBody = graphqlBody(loginQuery, { input: { email: user.email, password: user.password } });
  const loginSpec = { url: urls.gateway, body: loginBody, connections: loginConns, expect: '"accessToken":"' };
  const login = await measureHttp('login', loginSpec, settings, signal);
  console.log(`argon2 ceiling: ${loginConns} concurrent verifications, ${settings.seconds} s`);
  const argon2 = await runArgon2Ceiling(loginConns, settings.seconds, signal);
  return { bare, me, login, argon2 };
}

async function main(cleanup: Cleanup, signal: AbortSignal): Promise<number> {
  const settings = readSettings(process.env);
  const backends = await provideBackends(process.env, cleanup);
  console.log(`backend: ${backends.label}`);
  // Shared with the second instance of the fan-out run: it decrypts the signing keys they share.
  const secretKey = randomBytes(36).toString('base64url');
  const gateway = await startGateway(backends, cleanup, { secretKey });
  const bare = await startBareYoga(cleanup);
  const user = await registerUser(gateway);
  await assertMe(gateway, user);
  const results = await measureAll({ bare, gateway }, user, settings, signal);
  const audit = await runAuditFanout({ backends, producerUrl: gateway, secretKey, settings: settings.audit }, cleanup, signal);
  printReport(results, { backend: backends.label, seconds: settings.seconds, cpus: availableParallelism() });
  printAuditFanout(audit);
  return Object.values(results).some((m) => failures(m) > 0) || auditFanoutFailures(audit) > 0 ? 1 : 0;
}

const cleanup = createCleanup();
// A signal stops the load first (the gateway must not lose its database under load), then
// main unwinds through the same cleanup as an error. A second signal kills outright.
const interrupt = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => interrupt.abort(new Error(`interrupted by ${signal}`)));
}
let exitCode = 1;
// Reported and counted as a failure, but the run still tears down what it started.
let unhandled = false;
process.on('unhandledRejection', (reason) => {
  console.error('unhandled rejection:', reason);
  unhandled = true;
});
try {
  exitCode = await main(cleanup, interrupt.signal);
} catch (error) {
  console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
} finally {
  await cleanup.run();
}
// Explicit: a handle left open by a driver must not keep a finished benchmark alive.
process.exit(unhandled ? 1 : exitCode);
