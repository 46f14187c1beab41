/**
 * `npm run bench`: the ratios of README "Performance", measured in one run on loopback.
 *   me/bare       gateway `me` with a valid token vs a bare yoga `{ __typename }` server
 *   login/argon2  gateway `login` vs argon2id verify alone, at the same concurrency, measured in turns
 *   audit fan-out auditEvents delivery latency p50/p99 to BENCH_SUBSCRIBERS graphql-ws
 *                 subscribers on a second instance, and that instance's memory (real backends only)
 *   reset known/unknown  requestPasswordReset for registered vs never-registered addresses, one
 *                 run after the other on an instance of its own (send limits lifted): p50, p99,
 *                 req/s of both and the p50 difference (no account enumeration by timing)
 *   webhooks      deliveries per second to a loopback receiver and the lag from commit to receipt (p50, p99)
 * On real backends me and login run against the production build (node dist/main.js, built first),
 * with the default LOG_LEVEL, and me also with LOG_LEVEL=warn, in turns with bare; start to
 * /readyz and RSS are reported.
 *   refresh       refreshToken rotation, each connection passing its rotated token on
 *   overload      login at 10x the argon2 concurrency: answers or RATE_LIMITED (busy), RSS before and after
 *   scale         me on two production instances at once (half the connections each) vs one
 *   queries       SQL statements of users(first: 1 / 100) { nodes { roles caps } } (in-process counter)
 * Settings (env): BENCH_ONLY (every run; else a comma-separated list of bare, me, login, argon2, refresh,
 * overload, scale, queries, audit, reset, webhooks), BENCH_SECONDS (10 per run), BENCH_WARMUP_SECONDS (2, before each HTTP run
 * but login), BENCH_LOGIN_WARMUP_SECONDS (12, before login's first slice),
 * BENCH_CONNECTIONS (50, bare and me), BENCH_LOGIN_CONNECTIONS (2 × CPUs, login and argon2),
 * BENCH_LOGIN_ROUNDS (5: login and argon2 measured in turns, BENCH_SECONDS split into this many slices of each);
 * BENCH_ME_ROUNDS (5: likewise bare, me and me with LOG_LEVEL=warn, on the production build);
 * BENCH_SUBSCRIBERS (1000), BENCH_AUDIT_EVENTS (200), BENCH_AUDIT_RATE (20 per s),
 * BENCH_AUDIT_SESSIONS (10 admin sessions the subscribers share);
 * BENCH_RESET_CONNECTIONS (10), BENCH_RESET_USERS (100 registered addresses, and as many unknown);
 * BENCH_WEBHOOK_EVENTS (1000), BENCH_WEBHOOK_RATE (200 per s);
 * DATABASE_URL + REDIS_URL to measure against existing servers.
 * Exits 1 on an error or a failed request, never on a missed target.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { runArgon2Ceiling } from './argon2-ceiling.js';
import { auditFanoutFailures, printAuditFanout, runAuditFanout, type AuditFanoutSettings } from './audit-fanout.js';
import { provideBackends, type Backends } from './backends.js';
import { createCleanup, type Cleanup } from './cleanup.js';
import { graphqlBody, postGraphql } from './graphql-client.js';
import { type LoadGenerator, type LoadSpec, withLoadGenerator } from './load.js';
import { failures, type Measurement } from './measurement.js';
import { printReport, type Results } from './report.js';
import { runResetTiming, type ResetTimingSettings } from './reset-timing.js';
import { applyProductionTiering, buildProduction, startProductionGateway } from './production.js';
import { countUserListQueries } from './query-count.js';
import { startBareYoga, startGateway } from './servers.js';
import { printWebhookBench, runWebhookBench, type WebhookBenchSettings } from './webhooks.js';

const RUNS = ['bare', 'me', 'login', 'argon2', 'refresh', 'overload', 'scale', 'queries', 'audit', 'reset', 'webhooks'] as const;
type Run = (typeof RUNS)[number];
type Settings = {
  only: ReadonlySet<Run>;
  seconds: number;
  warmupSeconds: number;
  /** login's warm-up before its first slice (see measureLoginAndCeiling). */
  loginWarmupSeconds: number;
  connections: number;
  loginConnections: number;
  /** login and the argon2 ceiling in turns: this many slices of each. */
  rounds: number;
  /** bare, me and me with LOG_LEVEL=warn in turns (production build): this many slices of each. */
  meRounds: number;
  audit: AuditFanoutSettings;
  reset: ResetTimingSettings;
  webhooks: WebhookBenchSettings;
};
type User = { email: string; password: string; accessToken: string };

function readSettings(env: NodeJS.ProcessEnv): Settings {
  return {
    only: runsSetting(env),
    seconds: integerSetting(env, 'BENCH_SECONDS', 10, 1),
    warmupSeconds: integerSetting(env, 'BENCH_WARMUP_SECONDS', 2, 0),
    loginWarmupSeconds: integerSetting(env, 'BENCH_LOGIN_WARMUP_SECONDS', 12, 0),
    connections: integerSetting(env, 'BENCH_CONNECTIONS', 50, 1),
    loginConnections: integerSetting(env, 'BENCH_LOGIN_CONNECTIONS', 2 * availableParallelism(), 1),
    rounds: integerSetting(env, 'BENCH_LOGIN_ROUNDS', 5, 1),
    meRounds: integerSetting(env, 'BENCH_ME_ROUNDS', 5, 1),
    audit: {
      subscribers: integerSetting(env, 'BENCH_SUBSCRIBERS', 1000, 1),
      events: integerSetting(env, 'BENCH_AUDIT_EVENTS', 200, 1),
      ratePerSecond: integerSetting(env, 'BENCH_AUDIT_RATE', 20, 1),
      sessions: integerSetting(env, 'BENCH_AUDIT_SESSIONS', 10, 1),
    },
    reset: {
      connections: integerSetting(env, 'BENCH_RESET_CONNECTIONS', 10, 1),
      users: integerSetting(env, 'BENCH_RESET_USERS', 100, 1),
    },
    webhooks: {
      events: integerSetting(env, 'BENCH_WEBHOOK_EVENTS', 1000, 1),
      ratePerSecond: integerSetting(env, 'BENCH_WEBHOOK_RATE', 200, 1),
    },
  };
}

function runsSetting(env: NodeJS.ProcessEnv): ReadonlySet<Run> {
  const raw = env.BENCH_ONLY?.trim();
  if (!raw) return new Set(RUNS);
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !(RUNS as readonly string[]).includes(name));
  if (unknown.length || !names.length) throw new Error(`BENCH_ONLY: unknown run ${unknown.join(', ')}; expected a comma-separated list of ${RUNS.join(', ')}`);
  return new Set(names as Run[]);
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
  return withLoadGenerator(signal, async (load) => {
    if (settings.warmupSeconds) await load.run({ ...spec, seconds: settings.warmupSeconds });
    return load.run({ ...spec, seconds: settings.seconds });
  });
}

type Gateway = { url: string; user: User };

function meSpec(gateway: Gateway, connections: number): Omit<LoadSpec, 'seconds'> {
  const body = graphqlBody('query { me { id email } }');
  return { url: gateway.url, body, token: gateway.user.accessToken, connections, expect: `"email":"${gateway.user.email}"` };
}

function bareSpec(url: string, connections: number): Omit<LoadSpec, 'seconds'> {
  return { url, body: graphqlBody('{ __typename }'), connections, expect: '"__typename":"Query"' };
}

async function measureMe(gateway: Gateway, settings: Settings, signal: AbortSignal, label: string): Promise<Measurement> {
  return measureHttp(label, meSpec(gateway, settings.connections), settings, signal);
}

type TurnKey = 'bare' | 'me' | 'meWarn';
type TurnSide = { key: TurnKey; label: string; spec: Omit<LoadSpec, 'seconds'> };

/**
 * bare yoga, `me` and `me` with LOG_LEVEL=warn in turns, as login and its ceiling are: a warm-up
 * of each, then BENCH_ME_ROUNDS rounds of a slice of each (BENCH_SECONDS / rounds), the order
 * rotated every round. On a shared machine whose speed drifts by half within minutes, runs one
 * after the other compared the machine's moments more than the servers; in turns, a drift weighs
 * on every side of the ratios. The servers not under load sit idle meanwhile (the gateways'
 * audit relays poll their outbox ten times a second).
 */
async function measureInTurns(sides: TurnSide[], settings: Settings, signal: AbortSignal) {
  const rounds = settings.meRounds;
  const slice = settings.seconds / rounds;
  const connections = sides[0]!.spec.connections;
  console.log(
    `${sides.map((side) => side.label).join(', ')}: ${connections} connections each, in turns: ${settings.warmupSeconds} s warm-up each, then ${rounds} rounds of ${slice} s each`,
  );
  const slices = new Map<TurnKey, Measurement[]>(sides.map((side) => [side.key, []]));
  await withLoadGenerator(signal, async (load) => {
    if (settings.warmupSeconds) for (const side of sides) await load.run({ ...side.spec, seconds: settings.warmupSeconds });
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < sides.length; i++) {
        const side = sides[(round + i) % sides.length]!;
        slices.get(side.key)!.push(await load.run({ ...side.spec, seconds: slice }));
      }
    }
  });
  const bare = slices.get('bare');
  // The spread within one run, slice by slice, as for login.
  for (const key of ['me', 'meWarn'] as const) {
    const mine = slices.get(key);
    if (bare && mine) console.log(`${key}/bare by round: ${mine.map((m, i) => (m.reqPerSec / bare[i]!.reqPerSec).toFixed(3)).join(' ')}`);
  }
  const results: Results = {};
  for (const [key, measured] of slices) results[key] = combineSlices(measured);
  return results;
}

/**
 * login and the argon2 ceiling it is compared with, in turns: BENCH_LOGIN_ROUNDS rounds of a
 * login slice then a ceiling slice (seconds / rounds each, after one login warm-up), so that a
 * neighbour's load on this shared machine weighs on both sides of the ratio rather than on
 * whichever ran while it lasted. The gateway stays up, idle, during the ceiling's slices. Either
 * side alone when only it was asked for.
 */
async function measureLoginAndCeiling(gateway: Gateway | null, settings: Settings, signal: AbortSignal): Promise<Pick<Results, 'login' | 'argon2'>> {
  const { loginConnections: connections, only, rounds } = settings;
  const loginQuery = 'mutation Login($input: LoginInput!) { login(input: $input) { accessToken } }';
  const spec = gateway && {
    url: gateway.url,
    body: graphqlBody(loginQuery, { input: { email: gateway.user.email, password: gateway.user.password } }),
    connections,
    expect: '"accessToken":"',
  };
  const slice = settings.seconds / rounds;
  const logins: Measurement[] = [];
  const ceilings: Measurement[] = [];
  console.log(
    `login/argon2: ${connections} connections / concurrent verifications, ${settings.loginWarmupSeconds} s of login warm-up, ${rounds} rounds of ${slice} s each`,
  );
  const inTurns = async (load?: LoadGenerator) => {
    // Longer than the other runs' warm-up: at about 150 logins a second V8 is still compiling
    // the login path's functions for the first 10 s or so (logins 7-10 % slower in those slices).
    if (load && spec && settings.loginWarmupSeconds) await load.run({ ...spec, seconds: settings.loginWarmupSeconds });
    for (let round = 0; round < rounds; round++) {
      if (load && spec) logins.push(await load.run({ ...spec, seconds: slice }));
      if (only.has('argon2')) ceilings.push(await runArgon2Ceiling(connections, slice, signal));
    }
  };
  await (spec ? withLoadGenerator(signal, inTurns) : inTurns());
  // The spread within one run, slice by slice: how far a single slice's ratio can be trusted.
  if (logins.length && ceilings.length) {
    console.log(`login/argon2 by round: ${logins.map((login, i) => (login.reqPerSec / ceilings[i]!.reqPerSec).toFixed(3)).join(' ')}`);
  }
  return { ...(logins.length ? { login: combineSlices(logins) } : {}), ...(ceilings.length ? { argon2: combineSlices(ceilings) } : {}) };
}

/** Slices of one run as one row: counts summed, the rate over their time; p50 the middle slice's, p99 the worst slice's. */
function combineSlices(slices: Measurement[]): Measurement {
  const sum = (pick: (m: Measurement) => number) => slices.reduce((total, m) => total + pick(m), 0);
  const p50s = slices.map((m) => m.p50Ms).sort((a, b) => a - b);
  return {
    connections: slices[0]!.connections,
    reqPerSec: sum((m) => m.reqPerSec) / slices.length,
    p50Ms: p50s[Math.floor(p50s.length / 2)]!,
    p99Ms: Math.max(...slices.map((m) => m.p99Ms)),
    total: sum((m) => m.total),
    non2xx: sum((m) => m.non2xx),
    errors: sum((m) => m.errors),
    timeouts: sum((m) => m.timeouts),
    badBodies: sum((m) => m.badBodies),
  };
}

/** refreshToken rotation: each connection its own session, passing each rotated token on (warm-up on other sessions: a rotated-away token would be reuse). */
async function measureRefresh(gateway: Gateway, settings: Settings, signal: AbortSignal): Promise<Measurement> {
  const query = 'mutation Refresh($t: String) { refreshToken(refreshToken: $t) { accessToken refreshToken } }';
  const loginQuery = 'mutation Login($input: LoginInput!) { login(input: $input) { refreshToken } }';
  const sessions = async (n: number) => {
    const tokens: string[] = [];
    for (let i = 0; i < n; i++) {
      const data = await postGraphql(gateway.url, graphqlBody(loginQuery, { input: { email: gateway.user.email, password: gateway.user.password } }));
      tokens.push((data.login as { refreshToken: string }).refreshToken);
    }
    return tokens;
  };
  const spec = { url: gateway.url, body: graphqlBody(query, { t: '$TOKEN' }), connections: settings.connections, expect: '"refreshToken":"' };
  console.log(`refreshToken: ${spec.connections} connections (one session each), ${settings.warmupSeconds} s warm-up + ${settings.seconds} s`);
  return withLoadGenerator(signal, async (load) => {
    if (settings.warmupSeconds) await load.run({ ...spec, refreshTokens: await sessions(spec.connections), seconds: settings.warmupSeconds });
    return load.run({ ...spec, refreshTokens: await sessions(spec.connections), seconds: settings.seconds });
  });
}

/** login at 10× the argon2 ceiling's concurrency: answers, or RATE_LIMITED (busy) once the hashing queue is full, never timeouts. */
async function measureOverload(gateway: Gateway, settings: Settings, signal: AbortSignal): Promise<Measurement> {
  const loginQuery = 'mutation Login($input: LoginInput!) { login(input: $input) { accessToken } }';
  const connections = settings.loginConnections * 10;
  // One account per connection: concurrent attempts on one account meet its login gate (RATE_LIMITED, not busy).
  const users: User[] = [];
  for (let i = 0; i < connections; i++) users.push(await registerUser(gateway.url));
  const body = users.map((user) => graphqlBody(loginQuery, { input: { email: user.email, password: user.password } }));
  const spec = { url: gateway.url, body, connections, expect: '"accessToken":"', refused: '"busy":true' };
  return measureHttp('login at 10x concurrency', spec, settings, signal);
}

async function signedUp(url: string): Promise<Gateway> {
  const user = await registerUser(url);
  await assertMe(url, user);
  return { url, user };
}

/**
 * On real backends, the gateway as a user runs it (`node dist/main.js`, NODE_ENV=production):
 * `me` with the default LOG_LEVEL and on a second process with LOG_LEVEL=warn, in turns with
 * bare yoga (measureInTurns), then `login`, refreshToken and the overload on the first process,
 * then the two-instance run. Also its start to /readyz and its RSS idle and after the `me` load.
 */
async function measureProduction(backends: Backends, secretKey: string, settings: Settings, cleanup: Cleanup, signal: AbortSignal) {
  const results: Results = {};
  const figures: Record<string, number> = {};
  const { only } = settings;
  const prod = await startProductionGateway(backends, cleanup, { secretKey, label: 'default' });
  figures['start to /readyz, ms'] = prod.readyMs;
  const gateway = await signedUp(prod.url);
  figures['idle RSS, MB'] = await prod.rssMb();
  if (only.has('me')) {
    const quiet = await startProductionGateway(backends, cleanup, { secretKey, label: 'warn', logLevel: 'warn' });
    const sides: TurnSide[] = [
      { key: 'me', label: 'me (default LOG_LEVEL)', spec: meSpec(gateway, settings.connections) },
      { key: 'meWarn', label: 'me (LOG_LEVEL=warn)', spec: meSpec(await signedUp(quiet.url), settings.connections) },
    ];
    if (only.has('bare')) sides.unshift({ key: 'bare', label: 'bare', spec: bareSpec(await startBareYoga(cleanup), settings.connections) });
    Object.assign(results, await measureInTurns(sides, settings, signal));
    figures['RSS after the me load, MB'] = await prod.rssMb();
    await quiet.stop();
  }
  if (only.has('login')) Object.assign(results, await measureLoginAndCeiling(gateway, settings, signal));
  if (only.has('refresh')) results.refresh = await measureRefresh(gateway, settings, signal);
  if (only.has('overload')) {
    const before = await prod.rssMb();
    results.loginOverload = await measureOverload(gateway, settings, signal);
    const refused = results.loginOverload.refused ?? 0;
    figures['login at 10x: RSS before, MB'] = before;
    figures['login at 10x: RSS after, MB'] = await prod.rssMb();
    figures['login at 10x: signed in, per s'] = (results.loginOverload.total - refused) / settings.seconds;
    figures['login at 10x: refused RATE_LIMITED (busy), per s'] = refused / settings.seconds;
  }
  await prod.stop();
  if (only.has('scale')) {
    // Two instances on one Postgres and Redis, each given half the connections, measured at once.
    const pair = [
      await startProductionGateway(backends, cleanup, { secretKey, label: 'scale-a' }),
      await startProductionGateway(backends, cleanup, { secretKey, label: 'scale-b' }),
    ];
    const half = { ...settings, connections: Math.max(1, Math.floor(settings.connections / 2)) };
    const gateways = await Promise.all(pair.map((p) => signedUp(p.url)));
    const [a, b] = await Promise.all(gateways.map((g, i) => measureMe(g, half, signal, `me on instance ${i + 1} of 2`)));
    results.meTwo = {
      ...a!,
      connections: a!.connections + b!.connections,
      reqPerSec: a!.reqPerSec + b!.reqPerSec,
      p50Ms: Math.max(a!.p50Ms, b!.p50Ms),
      p99Ms: Math.max(a!.p99Ms, b!.p99Ms),
      total: a!.total + b!.total,
      non2xx: a!.non2xx + b!.non2xx,
      errors: a!.errors + b!.errors,
      timeouts: a!.timeouts + b!.timeouts,
      badBodies: a!.badBodies + b!.badBodies,
    };
    for (const p of pair) await p.stop();
    if (results.me) figures['me, 2 instances / 1 instance'] = results.meTwo.reqPerSec / results.me.reqPerSec;
  }
  return { results, figures };
}

/** The selected runs among bare, me, login and argon2. */
async function measureAll(backends: Backends, secretKey: string, settings: Settings, cleanup: Cleanup, signal: AbortSignal) {
  const { connections, only } = settings;
  let results: Results = {};
  let figures: Record<string, number> = {};
  const production = !!(backends.databaseUrl && backends.redisUrl);
  // With the production `me`, measured in turns with it (measureProduction); else on its own, first.
  if (only.has('bare') && !(production && only.has('me'))) {
    results.bare = await measureHttp('bare', bareSpec(await startBareYoga(cleanup), connections), settings, signal);
  }
  if (only.has('me') || only.has('login') || only.has('refresh') || only.has('overload') || only.has('scale')) {
    if (production) {
      const measured = await measureProduction(backends, secretKey, settings, cleanup, signal);
      results = { ...results, ...measured.results };
      figures = measured.figures;
    } else {
      const gateway = await signedUp(await startGateway(backends, cleanup, { secretKey }));
      if (only.has('me')) results.me = await measureMe(gateway, settings, signal, 'me (in-process, LOG_LEVEL=warn)');
      if (only.has('login')) Object.assign(results, await measureLoginAndCeiling(gateway, settings, signal));
      if (only.has('refresh')) results.refresh = await measureRefresh(gateway, settings, signal);
      if (only.has('overload')) results.loginOverload = await measureOverload(gateway, settings, signal);
    }
  }
  // With login, measured in turns with it (measureLoginAndCeiling); alone, here.
  if (only.has('argon2') && !results.argon2) Object.assign(results, await measureLoginAndCeiling(null, settings, signal));
  return { results, figures, gatewayLabel: production ? 'node dist/main.js, NODE_ENV=production' : 'in-process, NODE_ENV=test (embedded backends)' };
}

async function main(cleanup: Cleanup, signal: AbortSignal): Promise<number> {
  const settings = readSettings(process.env);
  const tiering = applyProductionTiering();
  if (tiering.length) console.log(`bench process: ${tiering.join(' ')}, as start:prod runs the gateway`);
  const backends = await provideBackends(process.env, cleanup);
  console.log(`backend: ${backends.label}`);
  // Shared with the second instance of the fan-out run: it decrypts the signing keys they share.
  const secretKey = randomBytes(36).toString('base64url');
  const { only } = settings;
  if (['me', 'login', 'refresh', 'overload', 'scale'].some((run) => only.has(run as Run)) && backends.databaseUrl && backends.redisUrl) buildProduction();
  const { results, figures, gatewayLabel } = await measureAll(backends, secretKey, settings, cleanup, signal);
  const gatewayUrl = only.has('audit') ? await startGateway(backends, cleanup, { secretKey }) : undefined;
  if (only.has('queries')) {
    const counted = await countUserListQueries(backends, cleanup, secretKey);
    figures['users(first: 1) { nodes { roles caps } }: statements'] = counted.first1;
    figures['users(first: 100) { nodes { roles caps } }: statements'] = counted.first100;
  }
  if (only.has('reset')) {
    const measure = (label: string, spec: Omit<LoadSpec, 'seconds'>) => measureHttp(label, spec, settings, signal);
    const reset = await runResetTiming({ backends, secretKey, settings: settings.reset }, measure, cleanup, signal);
    results.resetKnown = reset.known;
    results.resetUnknown = reset.unknown;
  }
  const audit =
    gatewayUrl && only.has('audit')
      ? await runAuditFanout({ backends, producerUrl: gatewayUrl, secretKey, settings: settings.audit }, cleanup, signal)
      : undefined;
  const webhooks = only.has('webhooks') ? await runWebhookBench({ backends, secretKey, settings: settings.webhooks }, cleanup, signal) : undefined;
  printReport(results, { backend: backends.label, gateway: gatewayLabel, seconds: settings.seconds, cpus: availableParallelism() }, figures);
  if (audit) printAuditFanout(audit);
  if (webhooks) printWebhookBench(webhooks);
  const failed =
    Object.values(results).some((m) => m && failures(m) > 0) ||
    (audit ? auditFanoutFailures(audit) : 0) > 0 ||
    (webhooks ? webhooks.received < webhooks.events : false);
  return failed ? 1 : 0;
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
