import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
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

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

/**
 * postgres.js when `url` is set; otherwise PGlite under `dataDir/pgdata`
 * (`memory://` for a throwaway in-memory database). Same schema and migrations on both.
 */
export function createDatabase(options: { url?: string; dataDir?: string; max?: number }): Database {
  if (options.url) {
    // onnotice: drizzle's migrator prints NOTICEs ("schema already exists") to stdout otherwise.
    const client = postgres(options.url, { max: options.max ?? 10, onnotice: () => {} });
    const db = drizzlePostgres(client, { schema }) as unknown as Db;
    return {
      db,
      kind: 'postgres',
      migrate: () => migratePostgres(drizzlePostgres(client, { schema }), { migrationsFolder }),
      ping: async () => void (await client`select 1`),
      close: () => client.end({ timeout: 5 }),
    };
  }
  const dir = options.dataDir ?? 'memory://';
  const location = dir.startsWith('memory://') ? dir : join(dir, 'pgdata');
  if (!location.startsWith('memory://')) mkdirSync(location, { recursive: true });
  const client = new PGlite(location);
  const pg = drizzlePglite(client, { schema });
  return {
    db: pg as unknown as Db,
    kind: 'pglite',
    migrate: () => migratePglite(pg, { migrationsFolder }),
    ping: async () => void (await client.query('select 1')),
    close: () => client.close(),
  };
}
