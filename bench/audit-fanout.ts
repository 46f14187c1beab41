import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createDatabase } from '../src/db/client.js';
import { userRoles } from '../src/modules/roles/tables.js';
import type { GatewayReply, GatewayRequest } from './audit-gateway-worker.js';
import type { SubscribersReply, SubscribersRequest } from './audit-subscribers-worker.js';
import type { Backends } from './backends.js';
import type { Cleanup } from './cleanup.js';
import { graphqlBody, postGraphql } from './graphql-client.js';
import { percentile } from './measurement.js';

export type AuditFanoutSettings = {
  /** Dashboards subscribed to auditEvents on the subscribed instance (BENCH_SUBSCRIBERS). */
  subscribers: number;
  /** Audit events produced on the other instance (BENCH_AUDIT_EVENTS). */
  events: number;
  /** Events per second, at a steady rate (BENCH_AUDIT_RATE). */
  ratePerSecond: number;
  /** Admin sessions the subscribers are spread over (BENCH_AUDIT_SESSIONS). */
  sessions: number;
};

export type AuditFanoutResult =
  | { skipped: string }
  | {
      settings: AuditFanoutSettings;
      expected: number;
      delivered: number;
      errors: number;
      p50Ms: number;
      p99Ms: number;
      maxMs: number;
      memory: { rssBeforeMb: number; rssSubscribedMb: number; rssAfterMb: number; heapBeforeMb: number; heapSubscribedMb: number; perSubscriberKb: number };
    };

/** The target of issue 3: p99 delivery latency with 1,000 subscribers. */
export const AUDIT_P99_TARGET_MS = 250;

type Worker<Req, Rep> = {
  send(message: Req): void;
  next<T extends Rep>(type: T extends { type: infer K } ? K : never, timeoutMs: number): Promise<T>;
  child: ChildProcess;
};

function startWorker<Req, Rep extends { type: string }>(file: string, cleanup: Cleanup, label: string, execArgv: string[] = []): Worker<Req, Rep> {
  const child = fork(new URL(file, import.meta.url), { stdio: 'inherit', execArgv: [...process.execArgv, ...execArgv] });
  cleanup.add(`stop the ${label}`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  return {
    child,
    send: (message) => void child.send(message as object),
    next: (type, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`the ${label} sent no ${String(type)} within ${timeoutMs} ms`)), timeoutMs);
        const onMessage = (message: Rep) => message.type === type && done(null, message);
        const onExit = (code: number | null) => done(new Error(`the ${label} exited (${code})`));
        function done(error: Error | null, message?: Rep) {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
          if (error) reject(error);
          else resolve(message as never);
        }
        child.on('message', onMessage);
        child.once('exit', onExit);
      }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function registerAdmin(producerUrl: string, databaseUrl: string, sessions: number) {
  const email = `bench-admin-${randomBytes(6).toString('hex')}@example.com`;
  const password = randomBytes(18).toString('base64url');
  await postGraphql(producerUrl, graphqlBody('mutation($i: RegisterInput!) { register(input: $i) { user { id } } }', { i: { email, password } }));
  const database = await createDatabase({ url: databaseUrl, max: 1 });
  try {
    const user = await postGraphql(producerUrl, graphqlBody('mutation($i: LoginInput!) { login(input: $i) { user { id } } }', { i: { email, password } }));
    const userId = (user.login as { user: { id: string } }).user.id;
    // The admin role holds every cap; caps are read per request, so the sessions below have audit:read.
    await database.db.insert(userRoles).values({ userId, role: 'admin' }).onConflictDoNothing();
  } finally {
    await database.close();
  }
  const tokens: string[] = [];
  for (let i = 0; i < sessions; i++) {
    const data = await postGraphql(producerUrl, graphqlBody('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { email, password } }));
    tokens.push((data.login as { accessToken: string }).accessToken);
  }
  return tokens;
}

async function registerProducer(producerUrl: string) {
  const email = `bench-producer-${randomBytes(6).toString('hex')}@example.com`;
  const query = 'mutation($i: RegisterInput!) { register(input: $i) { user { id } auth { accessToken } } }';
  const data = await postGraphql(producerUrl, graphqlBody(query, { i: { email, password: randomBytes(18).toString('base64url') } }));
  const result = data.register as { user: { id: string }; auth: { accessToken: string } };
  return { userId: result.user.id, token: result.auth.accessToken };
}

/** One audited write (updateProfile records user.updated), on the producing instance. */
const produce = (producerUrl: string, token: string, n: number) =>
  postGraphql(producerUrl, graphqlBody('mutation($n: String) { updateProfile(input: { name: $n }) { id } }', { n: `bench ${n}` }), token);

/**
 * Issue 3's fan-out benchmark: a second gateway instance in a child process (the subscribed one,
 * whose memory is reported), `subscribers` graphql-ws dashboards in another child, and audit
 * events produced on the first instance (`producerUrl`, this process) at a steady rate. Latency
 * is receipt time minus the event's `at` (taken inside the producing transaction): commit,
 * relay, Redis, fan-out and the WebSocket together. Needs PostgreSQL and Redis.
 */
export async function runAuditFanout(
  input: { backends: Backends; producerUrl: string; secretKey: string; settings: AuditFanoutSettings },
  cleanup: Cleanup,
  signal: AbortSignal,
): Promise<AuditFanoutResult> {
  const { backends, producerUrl, secretKey, settings } = input;
  if (!backends.databaseUrl || !backends.redisUrl) {
    return { skipped: 'needs PostgreSQL and Redis: two instances share nothing else, and the embedded backends serve one process' };
  }
  const gateway = startWorker<GatewayRequest, GatewayReply>('./audit-gateway-worker.ts', cleanup, 'subscribed gateway', ['--expose-gc']);
  gateway.send({ type: 'start', backends, secretKey });
  const { url } = await gateway.next<Extract<GatewayReply, { type: 'started' }>>('started', 60_000);
  const memory = async () => gateway.next<Extract<GatewayReply, { type: 'memory' }>>('memory', 10_000);
  const tokens = await registerAdmin(producerUrl, backends.databaseUrl, Math.min(settings.sessions, settings.subscribers));
  const producer = await registerProducer(producerUrl);
  gateway.send({ type: 'memory' });
  const before = await memory();

  console.log(`audit fan-out: ${settings.subscribers} subscribers over ${tokens.length} sessions on ${url}`);
  const clients = startWorker<SubscribersRequest, SubscribersReply>('./audit-subscribers-worker.ts', cleanup, 'subscribers');
  const ready = clients.next('ready', 120_000);
  clients.send({ type: 'start', url, tokens, count: settings.subscribers });
  // Every subscriber has heard an event, so every subscription is live: probe until then.
  let probing = true;
  ready.finally(() => (probing = false)).catch(() => undefined);
  for (let n = 0; probing && !signal.aborted; n++) {
    await produce(producerUrl, producer.token, n);
    await Promise.race([ready, sleep(500)]).catch(() => undefined);
  }
  await ready;
  signal.throwIfAborted();
  await sleep(500);
  gateway.send({ type: 'memory' });
  const subscribed = await memory();

  console.log(`audit fan-out: ${settings.events} events at ${settings.ratePerSecond}/s on the other instance`);
  clients.send({ type: 'measure', userId: producer.userId });
  const started = performance.now();
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < settings.events && !signal.aborted; i++) {
    // A steady rate, whatever each write takes: scheduled against the start, not the last write.
    await sleep(Math.max(0, started + (i * 1000) / settings.ratePerSecond - performance.now()));
    writes.push(produce(producerUrl, producer.token, i));
  }
  await Promise.all(writes);
  signal.throwIfAborted();
  const expected = settings.events * settings.subscribers;
  let report: Extract<SubscribersReply, { type: 'report' }> | undefined;
  for (const deadline = performance.now() + 15_000; performance.now() < deadline; await sleep(500)) {
    clients.send({ type: 'report' });
    report = await clients.next<Extract<SubscribersReply, { type: 'report' }>>('report', 30_000);
    if (report.latencies.length >= expected) break;
  }
  gateway.send({ type: 'memory' });
  const after = await memory();
  const latencies = report?.latencies ?? [];
  return {
    settings,
    expected,
    delivered: latencies.length,
    errors: report?.errors ?? 0,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? 0,
    memory: {
      rssBeforeMb: mb(before.rss),
      rssSubscribedMb: mb(subscribed.rss),
      rssAfterMb: mb(after.rss),
      heapBeforeMb: mb(before.heapUsed),
      heapSubscribedMb: mb(subscribed.heapUsed),
      perSubscriberKb: Math.round((subscribed.rss - before.rss) / settings.subscribers / 102.4) / 10,
    },
  };
}

/** The fan-out lines of the report, then one machine-readable line: `BENCH_AUDIT_RESULT {json}`. */
export function printAuditFanout(result: AuditFanoutResult): void {
  if ('skipped' in result) {
    console.log(`\naudit fan-out: skipped (${result.skipped})`);
  } else {
    const { settings: s, memory: m } = result;
    console.log(
      `\naudit fan-out: ${s.subscribers} graphql-ws subscribers (${Math.min(s.sessions, s.subscribers)} sessions) on one instance, ${s.events} events at ${s.ratePerSecond}/s produced on another`,
    );
    console.log(`delivered ${result.delivered}/${result.expected}, subscriber errors ${result.errors}`);
    const pass = result.p99Ms < AUDIT_P99_TARGET_MS && result.delivered === result.expected;
    console.log(
      `delivery latency p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms (target p99 < ${AUDIT_P99_TARGET_MS} ms) ${pass ? 'PASS' : 'BELOW'}`,
    );
    console.log(
      `subscribed instance memory (after GC): rss ${m.rssBeforeMb} MB idle → ${m.rssSubscribedMb} MB subscribed (${m.perSubscriberKb} KB per subscriber) → ${m.rssAfterMb} MB after the events; heap ${m.heapBeforeMb} → ${m.heapSubscribedMb} MB`,
    );
  }
  console.log(`BENCH_AUDIT_RESULT ${JSON.stringify(result)}`);
}

/** Failed deliveries or subscriber errors: the run did not measure what it meant to. */
export function auditFanoutFailures(result: AuditFanoutResult): number {
  return 'skipped' in result ? 0 : result.expected - result.delivered + result.errors;
}
