import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { appPath } from '../shared/app-root.js';
import { withAfterCommit } from './after-commit.js';
import * as schema from './schema.js';

export type Schema = typeof schema;
/** Either driver: modules only see the Postgres dialect, never the driver. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
export type DbOrTx = Db | Tx;

export type Database = {
  db: Db;
  kind: 'postgres' | 'pglite';
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
};

const migrationsFolder = fileURLToPath(appPath('db/migrations'));

/**
 * postgres.js when `url` is set; otherwise PGlite under `dataDir/pgdata`
 * (`memory://` for a throwaway in-memory database). Same schema and migrations on both.
 * PGlite (and drizzle's driver for it) is loaded only then: a server on PostgreSQL never holds
 * its code in memory (about 5 MB of RSS and 20 MB of heap reserved).
 */
export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const url = options.url;
    // onnotice: drizzle's migrator prints NOTICEs ("schema already exists") to stdout otherwise.
    const client = postgres(url, { max: options.max ?? 10, onnotice: () => {}, ...failFast(options) });
    const db = withAfterCommit(drizzlePostgres(preparing(client), { schema }) as unknown as Db);
    return {
      db,
      kind: 'postgres',
      // On a client of its own without the statement timeout: building an index on a large
      // table may take longer than any request should.
      migrate: async () => {
        const migrator = postgres(url, { max: 2, onnotice: () => {}, connect_timeout: failFast(options).connect_timeout });
        try {
          await migrateLocked(migrator);
        } finally {
          await migrator.end({ timeout: 5 });
        }
      },
      ping: async () => void (await client`select 1`),
      close: () => client.end({ timeout: 5 }),
    };
  }
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  const dir = options.dataDir ?? 'memory://';
  const inMemory = dir.startsWith('memory://');
  const location = inMemory ? dir : join(dir, 'pgdata');
  const unlock = inMemory ? () => {} : lockDataDir(dir);
  if (!inMemory) mkdirSync(location, { recursive: true });
  if (!inMemory && !existsSync(join(location, 'PG_VERSION'))) initDataDir(location);
  const client = new PGlite(location, inMemory && options.loadDataDir ? { loadDataDir: options.loadDataDir } : {});
  const pg = drizzlePglite(client, { schema });
  return {
    db: withAfterCommit(pg as unknown as Db),
    kind: 'pglite',
    migrate: () => migratePglite(pg, { migrationsFolder }),
    ping: async () => void (await client.query('select 1')),
    close: async () => {
      await client.close();
      unlock();
    },
  };
}

export type DatabaseOptions = {
  url?: string;
  dataDir?: string;
  /** PGlite in memory only: start from this dump of a data directory (PGlite's dumpDataDir) instead of an empty one. */
  loadDataDir?: Blob;
  max?: number;
  /** A connection not ready within this fails. @default 5000 */
  connectTimeoutMs?: number;
  /** Server-side limit on one statement, and on a transaction left idle. @default 5000 */
  statementTimeoutMs?: number;
};

/**
 * A stalled or unreachable Postgres must fail requests, not hang them (ASVS 5.0 V13.2: resource
 * limits; the request deadline in use-request-timeout.ts covers a server that stops answering
 * mid-query, which no server-side timeout can). statement_timeout cancels a statement stuck on a
 * lock; idle_in_transaction_session_timeout frees the locks of a transaction its client forgot;
 * idle_timeout drops pooled connections nobody used for a while (a half-dead one among them),
 * and max_lifetime renews the rest.
 */
function failFast(options: DatabaseOptions) {
  const statementMs = options.statementTimeoutMs ?? 5000;
  return {
    connect_timeout: Math.max(1, Math.ceil((options.connectTimeoutMs ?? 5000) / 1000)),
    idle_timeout: 60,
    max_lifetime: 30 * 60,
    connection: { statement_timeout: statementMs, idle_in_transaction_session_timeout: statementMs * 2 },
  };
}

/**
 * The first start's initdb in a child process: PGlite keeps what initdb grew its memory to
 * (RSS ≈ 800 MB instead of ≈ 170 MB for an existing directory), so it runs where that memory is
 * returned when it exits. Blocking is fine: nothing else runs before the database is open.
 */
function initDataDir(location: string): void {
  const script = fileURLToPath(appPath('db/pglite-initdb.mjs'));
  const result = spawnSync(process.execPath, [script, location], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`could not create the embedded database in ${location}: ${result.stderr || result.error?.message}`);
}

type Unsafe = (query: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) => unknown;

/**
 * postgres.js sends a query with parameters that is not a prepared statement in two round trips:
 * Parse and Describe first, to learn the parameters' types, then Bind and Execute. Drizzle marks
 * every query it did not `.prepare()` as unprepared, so each UPDATE or INSERT of a login cost two
 * round trips. Preparing them lets postgres.js describe a statement once per connection (its
 * cache is keyed by the SQL text and the parameter types) and run it in one round trip from then
 * on. Queries without parameters keep the simple protocol (one round trip already). Transactions
 * and savepoints hand drizzle a client of their own, wrapped the same way.
 */
function preparing<T extends postgres.Sql | postgres.TransactionSql>(sql: T): T {
  // Wraps whatever `unsafe` the client has now: a test that swaps it (test/support/statements.ts) is wrapped in turn.
  const wrappers = new WeakMap<Unsafe, Unsafe>();
  const preparedUnsafe = (unsafe: Unsafe): Unsafe => {
    let wrapper = wrappers.get(unsafe);
    if (!wrapper) {
      wrapper = (query, params, options) =>
        params?.length ? unsafe.call(sql, query, params, { ...options, prepare: true }) : unsafe.call(sql, query, params, options);
      wrappers.set(unsafe, wrapper);
    }
    return wrapper;
  };
  return new Proxy(sql, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'unsafe') return preparedUnsafe(value as Unsafe);
      if ((prop === 'begin' || prop === 'savepoint') && typeof value === 'function') {
        return (...args: unknown[]) => {
          const body = args.at(-1) as (tx: postgres.TransactionSql) => unknown;
          return (value as (...a: unknown[]) => unknown).apply(target, [...args.slice(0, -1), (tx: postgres.TransactionSql) => body(preparing(tx))]);
        };
      }
      return value;
    },
  });
}

/** Arbitrary constant for pg_advisory_lock: instances starting together migrate one at a time. */
const MIGRATION_LOCK = 7_311_002;

/**
 * Several instances deployed at once would race to create the same tables: the first takes a
 * session-level advisory lock (on a reserved connection, so it stays on one session) and
 * migrates; the others wait for it and then find nothing left to do.
 */
async function migrateLocked(client: postgres.Sql): Promise<void> {
  const connection = await client.reserve();
  try {
    await connection`select pg_advisory_lock(${MIGRATION_LOCK})`;
    try {
      // The lock is held by the reserved connection; the migration itself runs on the pool.
      await migratePostgres(drizzlePostgres(client, { schema }), { migrationsFolder });
    } finally {
      await connection`select pg_advisory_unlock(${MIGRATION_LOCK})`;
    }
  } finally {
    connection.release();
  }
}

/**
 * PGlite is one process's database: a second process on the same directory (a second
 * `npm start`, or a script while the server runs) would silently lose or corrupt writes.
 */
function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'gateway.lock');
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(readFileSync(file, 'utf8'));
    if (holder && holder !== process.pid && isAlive(holder)) {
      throw new Error(`DATA_DIR ${dir} is in use by process ${holder}: the embedded database serves one process (stop it, or set DATABASE_URL)`);
    }
    writeFileSync(file, String(process.pid));
  }
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
