import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import postgres from 'postgres';
import { createDatabase } from '../../src/db/client.js';

/*
 * Migrated, empty databases that each test app starts from, made once per run: a fresh PGlite
 * runs initdb (seconds of CPU), and every new database would run every migration. A copy of a
 * migrated one is what each test would reach anyway; the app's own migrate step then finds
 * nothing to do. The migration tests ask for a fresh database instead (createShared's `fresh`).
 */

/** The real PostgreSQL's migrated template database: each test database is a copy of it. */
export const POSTGRES_TEMPLATE = 't_template';

/** A migrated PGlite data directory, dumped to a file (PGlite's dumpDataDir); remove() deletes it. */
export async function createPgliteTemplate(): Promise<{ path: string; remove(): void }> {
  const pglite = new PGlite('memory://');
  try {
    await migrate(drizzle(pglite), { migrationsFolder: fileURLToPath(new URL('../../src/db/migrations', import.meta.url)) });
    const dump = await pglite.dumpDataDir('none');
    const dir = mkdtempSync(join(tmpdir(), 'gag-template-'));
    const path = join(dir, 'pglite.tar');
    writeFileSync(path, Buffer.from(await dump.arrayBuffer()));
    return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    await pglite.close();
  }
}

/** Creates and migrates POSTGRES_TEMPLATE on the server of `adminUrl`. */
export async function createPostgresTemplate(adminUrl: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${POSTGRES_TEMPLATE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${POSTGRES_TEMPLATE}`;
  const database = await createDatabase({ url: url.toString(), max: 1 });
  try {
    await database.migrate();
  } finally {
    // No session may stay connected to a template while databases are copied from it.
    await database.close();
  }
}
