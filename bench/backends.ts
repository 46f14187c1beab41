import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { findBinaries, startPostgres, startRedis } from '../test/support/services.js';

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
 * PGlite and the in-process store). External servers keep what a run writes: one user, its
 * sessions (under the `bench:` prefix) and their audit rows.
 */
export async function provideBackends(env: NodeJS.ProcessEnv, cleanup: Cleanup): Promise<Backends> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gag-bench-data-'));
  cleanup.add('remove the data dir', () => rm(dataDir, { recursive: true, force: true }));
  if (env.DATABASE_URL && env.REDIS_URL) {
    return { label: 'external PostgreSQL + Redis (DATABASE_URL, REDIS_URL)', databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL, dataDir };
  }
  const bins = findBinaries();
  if (bins.initdb && bins.pgCtl && bins.redis) {
    // The test suite's throwaway servers: loopback ports, temp dirs, Postgres as `postgres` when root.
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    cleanup.add('stop postgres', () => pg.stop());
    cleanup.add('stop redis', () => redis.stop());
    return { label: 'local throwaway PostgreSQL + Redis', databaseUrl: pg.url, redisUrl: redis.url, dataDir };
  }
  return { label: 'embedded PGlite (in memory) + in-process store', dataDir };
}
