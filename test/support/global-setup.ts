import type { TestProject } from 'vitest/node';
import { findBinaries, startPostgres, startRedis, startRedisCluster, type Service } from './services.js';
import { createPgliteTemplate, createPostgresTemplate } from './templates.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the suite's PostgreSQL, or '' when the real backends are not available. */
    postgresUrl: string;
    redisUrl: string;
    /** Comma-separated nodes of the suite's 3-master Redis Cluster, or '' when not available. */
    redisClusterUrl: string;
    /** A migrated PGlite data directory, dumped (see templates.ts). */
    pgliteTemplate: string;
  }
}

/**
 * Starts one PostgreSQL, one Redis and a 3-master Redis Cluster (with redis-cli) for the whole
 * run when their binaries exist. Each test
 * app then gets its own database (a copy of a migrated template, see templates.ts) and key prefix. TEST_REQUIRE_REAL=1 (CI) turns missing
 * binaries into a failure instead of a skip.
 */
export default async function setup(project: TestProject) {
  const bins = findBinaries();
  const available = !!(bins.initdb && bins.pgCtl && bins.redis);
  if (!available && process.env.TEST_REQUIRE_REAL === '1') {
    throw new Error(`TEST_REQUIRE_REAL=1 but binaries are missing: ${JSON.stringify(bins)}`);
  }
  if (available && !bins.redisCli && process.env.TEST_REQUIRE_REAL === '1') {
    throw new Error('TEST_REQUIRE_REAL=1 but redis-cli (for the Redis Cluster tests) is missing');
  }
  const services: Service[] = [];
  const pglite = createPgliteTemplate();
  if (available) {
    const [pg, redis, cluster] = await Promise.all([startPostgres(), startRedis(), bins.redisCli ? startRedisCluster().catch(skipCluster) : null]);
    services.push(pg, redis, ...(cluster ? [cluster] : []));
    await createPostgresTemplate(pg.url).catch(async (error: unknown) => {
      await Promise.all(services.map((s) => s.stop()));
      throw error;
    });
    project.provide('postgresUrl', pg.url);
    project.provide('redisUrl', redis.url);
    project.provide('redisClusterUrl', cluster?.url ?? '');
    if (!cluster) console.warn('redis-cli not found: skipping the Redis Cluster tests');
  } else {
    console.warn('PostgreSQL or redis-server not found: running on the embedded backends only');
    project.provide('postgresUrl', '');
    project.provide('redisUrl', '');
    project.provide('redisClusterUrl', '');
  }
  const template = await pglite.catch(async (error: unknown) => {
    await Promise.all(services.map((s) => s.stop()));
    throw error;
  });
  project.provide('pgliteTemplate', template.path);
  return async () => {
    template.remove();
    await Promise.all(services.map((s) => s.stop()));
  };
}

/** A cluster that fails to start fails the run under TEST_REQUIRE_REAL=1; otherwise its tests are skipped. */
function skipCluster(error: unknown): null {
  if (process.env.TEST_REQUIRE_REAL === '1') throw error;
  console.warn(`Redis Cluster did not start, skipping its tests: ${(error as Error).message}`);
  return null;
}
