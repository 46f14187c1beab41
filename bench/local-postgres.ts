import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { Cleanup } from './cleanup.js';
import { freePort, run } from './processes.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const DATABASE = 'gag_bench';

export function hasLocalPostgres(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));
}

/**
 * A throwaway PostgreSQL 15 cluster in a temp dir, on a loopback port, with fsync off (its
 * data is discarded anyway). Postgres refuses to run as root, so as root every tool runs as
 * the `postgres` user on a directory it owns.
 */
export async function startLocalPostgres(cleanup: Cleanup): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'gag-bench-pg-'));
  cleanup.add('remove the postgres dir', () => rm(root, { recursive: true, force: true }));
  const pg = await postgresRunner(root);
  const data = join(root, 'data');
  const port = await freePort();
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  // Registered before start: a start that times out may still leave a postmaster running.
  cleanup.add('stop postgres', async () => {
    if (existsSync(join(data, 'postmaster.pid'))) await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  });
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`;
  await pg('pg_ctl', ['-D', data, '-l', join(root, 'postgres.log'), '-w', '-t', '30', '-o', options, 'start']);
  await createDatabase(port);
  return `postgres://postgres@127.0.0.1:${port}/${DATABASE}`;
}

async function postgresRunner(root: string) {
  if (process.getuid?.() !== 0) return (tool: string, args: string[]) => run(join(PG_BIN, tool), args);
  const uid = Number((await run('id', ['-u', 'postgres'])).trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).trim());
  await chown(root, uid, gid);
  return (tool: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', join(PG_BIN, tool), ...args]);
}

async function createDatabase(port: number): Promise<void> {
  const sql = postgres({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create database ${DATABASE}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
