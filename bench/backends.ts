import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { hasLocalPostgres, startLocalPostgres } from './local-postgres.js';
import { startLocalRedis } from './local-redis.js';
import { run } from './processes.js';

export type Backends = {
  /** Printed with the results: the numbers mean little without it. */
  label: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** A temp DATA_DIR (the gateway wants one even when it keeps nothing there). */
  dataDir: string;
};

/**
 * DATABASE_URL and REDIS_URL from the environment when both are set; else throwaway local
 * PostgreSQL 15 and Redis when their binaries exist; else the embedded backends (in-memory
 * PGlite and the in-process store).
 */
export async function provideBackends(env: NodeJS.ProcessEnv, cleanup: Cleanup): Promise<Backends> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gag-bench-data-'));
  cleanup.add('remove the data dir', () => rm(dataDir, { recursive: true, force: true }));
  if (env.DATABASE_URL && env.REDIS_URL) {
    return { label: 'external PostgreSQL + Redis (DATABASE_URL, REDIS_URL)', databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL, dataDir };
  }
  if (hasLocalPostgres() && (await hasRedisServer())) {
    const databaseUrl = await startLocalPostgres(cleanup);
    const redisUrl = await startLocalRedis(dataDir, cleanup);
    return { label: 'local throwaway PostgreSQL 15 + Redis', databaseUrl, redisUrl, dataDir };
  }
  return { label: 'embedded PGlite (in memory) + in-process store', dataDir };
}

async function hasRedisServer(): Promise<boolean> {
  return run('redis-server', ['--version']).then(
    () => true,
    () => false,
  );
}
