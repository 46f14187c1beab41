import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, inject } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { bootstrap } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/client.js';
import { closeDeps, createDeps, type Deps } from '../../src/deps.js';
import { startServices } from '../../src/server.js';
import type { Clock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { createArgon2Hasher, type PasswordHasher } from '../../src/shared/password-hasher.js';
import { POSTGRES_TEMPLATE } from './templates.js';

export type Backend = 'embedded' | 'real';

/** The embedded backends always; real PostgreSQL + Redis when the suite could start them. */
export function backends(): Backend[] {
  return inject('postgresUrl') ? ['embedded', 'real'] : ['embedded'];
}

/**
 * A wall clock that moves only when told, and a monotonic clock that runs in real time plus every
 * advance (real-time bounds such as cache TTLs and throttles still pass, and a test can skip them).
 */
export type TestClock = Clock & { advance(ms: number): void; monotonic(): number };

export function createTestClock(start = Date.now()): TestClock {
  let now = start;
  let advanced = 0;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
      advanced += Math.max(0, ms);
    },
    monotonic: () => performance.now() + advanced,
  };
}

export type CountingHasher = PasswordHasher & { calls: { hash: number; verify: number } };

/** Real argon2id with cheap parameters (tests are not a KDF benchmark) that counts its calls. */
export function createCountingHasher(inner: PasswordHasher = createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 })): CountingHasher {
  const calls = { hash: 0, verify: 0 };
  return {
    calls,
    hash: (p) => (calls.hash++, inner.hash(p)),
    verify: (h, p) => (calls.verify++, inner.verify(h, p)),
    needsRehash: (h) => inner.needsRehash(h),
    busy: () => inner.busy(),
  };
}

/**
 * Where an app keeps its state; two apps given the same one are two instances of one deployment.
 * `template`: an in-memory embedded database starts as a copy of the migrated template.
 */
export type Shared = { backend: Backend; env: Record<string, string>; storePrefix?: string; template?: boolean };

/**
 * A new database (and Redis key prefix) for `backend`, migrated already (a copy of the run's
 * template, see templates.ts) unless `fresh`: then the app's start migrates an empty one.
 */
export async function createShared(backend: Backend, dataDir = 'memory://', options: { fresh?: boolean } = {}): Promise<Shared> {
  if (backend === 'embedded') return { backend, env: { DATA_DIR: dataDir }, template: dataDir.startsWith('memory://') && !options.fresh };
  const name = `t_${randomUUID().replace(/-/g, '')}`;
  const admin = postgres(inject('postgresUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(options.fresh ? `create database ${name}` : `create database ${name} template ${POSTGRES_TEMPLATE}`);
  await admin.end();
  const url = new URL(inject('postgresUrl'));
  url.pathname = `/${name}`;
  return { backend, env: { DATABASE_URL: url.toString(), REDIS_URL: inject('redisUrl') }, storePrefix: `${name}:` };
}

let template: Blob | undefined;
/** The run's migrated PGlite data directory (global-setup.ts), read once per test file. */
function pgliteTemplate(): Blob {
  template ??= new Blob([readFileSync(inject('pgliteTemplate'))]);
  return template;
}

export type GqlResult<T = Record<string, any>> = {
  status: number;
  headers: Headers;
  data: T | null;
  errors: Array<{ message: string; path?: string[]; extensions: Record<string, any> }> | undefined;
};

export type TestApp = {
  deps: Deps;
  app: App;
  clock: TestClock;
  hasher: CountingHasher;
  /** Every log line the app wrote, as raw JSON text. */
  logs: string[];
  /** What start-up showed on the console (the embedded default's admin password). */
  announced: string[];
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { token?: string; headers?: Record<string, string> },
  ): Promise<GqlResult<T>>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Listens on a free loopback port (for WebSocket tests); returns the GraphQL URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
};

export const SECRET_KEY = 'test-secret-key-0123456789-abcdefghijklmnop';

export async function createTestApp(
  shared: Shared,
  options: {
    env?: Record<string, string>;
    clock?: TestClock /** Embedded backends: share this app's database and store (a second instance). */;
    peer?: TestApp;
    /** Another hasher than the default counting one (a test that holds hashing to fill its queue). */
    hasher?: CountingHasher;
  } = {},
): Promise<TestApp> {
  const logs: string[] = [];
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    SECRET_KEY,
    PUBLIC_URL: 'http://gateway.test',
    // In-process requests share one client IP: per-IP limits get their own tests.
    RATE_LIMITS: 'login.ip=100000/1m,register.ip=100000/1m,send.ip=100000/1m,verify.ip=100000/1m,mfa.account=100000/1m',
    ...shared.env,
    ...options.env,
  });
  const clock = options.clock ?? createTestClock();
  const hasher = options.hasher ?? createCountingHasher();
  const logger = createLogger({ level: config.logLevel, destination: { write: (line: string) => void logs.push(line) } });
  const peer = options.peer && { database: options.peer.deps.database, store: options.peer.deps.store };
  // The app closes it with its other ports (closeDeps); createDeps does not when it fails.
  const database = !peer && shared.template ? await createDatabase({ dataDir: 'memory://', loadDataDir: pgliteTemplate() }) : undefined;
  const ports = await createDeps(config, {
    clock,
    monotonic: () => clock.monotonic(),
    hasher,
    logger,
    storePrefix: shared.storePrefix,
    messageRetryDelaysMs: [20, 50, 100],
    database,
    ...peer,
  }).catch(async (error: unknown) => {
    await database?.close();
    throw error;
  });
  const deps = await startServices(ports).catch(async (error: unknown) => {
    await closeDeps(ports, peer ? { database: false, store: false } : undefined);
    throw error;
  });
  const announced: string[] = [];
  // A refused start still lets go of the database (PGlite holds DATA_DIR until closed).
  await bootstrap(deps, { announce: (message) => void announced.push(message) }).catch(async (error: unknown) => {
    await closeDeps(deps);
    throw error;
  });
  const app = createApp(deps);
  const fetch = (path: string, init?: RequestInit) => Promise.resolve(app.yoga.fetch(new URL(`http://gateway.test${path}`), init ?? {}));
  return {
    deps,
    app,
    clock,
    hasher,
    logs,
    announced,
    fetch,
    async gql(query, variables, opts = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const body = (await response.json()) as { data?: any; errors?: any };
      return { status: response.status, headers: response.headers, data: body.data ?? null, errors: body.errors };
    },
    async listen() {
      const { port } = await app.start(0, '127.0.0.1');
      return `http://127.0.0.1:${port}/graphql`;
    },
    async close() {
      await app.stop();
      await closeDeps(deps, peer ? { database: false, store: false } : undefined);
    },
  };
}

/**
 * A fixture of a describe block: opened in beforeAll (hooks registered after this call run after
 * it opens), closed in afterAll. Returns a stand-in that forwards to the fixture once it is open,
 * so hooks and tests use it as the fixture itself; touching it before beforeAll throws.
 */
export function useFixture<T extends object>(open: () => Promise<T>, close: (fixture: T) => Promise<void>): T {
  let current: T | undefined;
  beforeAll(async () => {
    current = await open();
  });
  afterAll(() => (current ? close(current) : undefined));
  const opened = (): T => {
    if (!current) throw new Error('useFixture: it opens in beforeAll; use it in hooks and tests');
    return current;
  };
  return new Proxy({} as T, {
    // Not a thenable: awaiting the stand-in must not look for `then` on a fixture not yet open.
    get: (_, key) => (key === 'then' ? undefined : Reflect.get(opened(), key)),
    set: (_, key, value) => Reflect.set(opened(), key, value),
    has: (_, key) => Reflect.has(opened(), key),
  });
}

/**
 * The app of a describe block (`describe.each(backends())`), on a fresh Shared of `backend`; see
 * useFixture. `env` may be a function, for settings known only in an earlier beforeAll (a stub's URL).
 */
export function useTestApp(
  backend: Backend,
  options: { env?: Record<string, string> | (() => Record<string, string>); clock?: TestClock; dataDir?: string } = {},
): TestApp {
  return useFixture(
    async () => {
      const env = typeof options.env === 'function' ? options.env() : options.env;
      return createTestApp(await createShared(backend, options.dataDir), { env, clock: options.clock });
    },
    (app) => app.close(),
  );
}

/** The suite's Redis Cluster is running (see global-setup.ts). */
export function hasRedisCluster(): boolean {
  return !!inject('postgresUrl') && !!inject('redisClusterUrl');
}

/** A deployment on real PostgreSQL and the suite's 3-master Redis Cluster (REDIS_CLUSTER=true). */
export async function createClusterShared(): Promise<Shared> {
  const shared = await createShared('real');
  return { ...shared, env: { ...shared.env, REDIS_URL: inject('redisClusterUrl'), REDIS_CLUSTER: 'true' } };
}

/**
 * Two instances of one deployment: same database, Redis prefix and clock (real backends, or those
 * of a given Shared), or the same PGlite database and in-process store in one process (embedded).
 */
export async function createInstances(given: Backend | Shared = 'real', options: { env?: Record<string, string> } = {}): Promise<[TestApp, TestApp]> {
  const shared = typeof given === 'string' ? await createShared(given) : given;
  const backend = shared.backend;
  const clock = createTestClock();
  const first = await createTestApp(shared, { clock, env: options.env });
  return [first, await createTestApp(shared, { clock, env: options.env, peer: backend === 'embedded' ? first : undefined })];
}

/**
 * Two instances of one deployment for the tests of a describe block: opened before them and
 * closed after; `set` receives them.
 */
export function useInstances(set: (a: TestApp, b: TestApp) => void, backend: Backend = 'real'): void {
  let pair: [TestApp, TestApp] | undefined;
  beforeAll(async () => {
    pair = await createInstances(backend);
    set(...pair);
  });
  afterAll(async () => {
    // The second first: an embedded second instance uses the first one's database and store.
    await pair?.[1].close();
    await pair?.[0].close();
  });
}
