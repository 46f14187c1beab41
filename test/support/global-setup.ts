import type { TestProject } from 'vitest/node';
import { findBinaries, startPostgres, startRedis, type Service } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the suite's PostgreSQL, or '' when the real backends are not available. */
    postgresUrl: string;
    redisUrl: string;
  }
}

/**
 * Starts one PostgreSQL and one Redis for the whole run when their binaries exist. Each test
 * app then gets its own database and key prefix. TEST_REQUIRE_REAL=1 (CI) turns missing
 * binaries into a failure instead of a skip.
 */
export default async function setup(project: TestProject) {
  const bins = findBinaries();
  const available = !!(bins.initdb && bins.pgCtl && bins.redis);
  if (!available && process.env.TEST_REQUIRE_REAL === '1') {
    throw new Error(`TEST_REQUIRE_REAL=1 but binaries are missing: ${JSON.stringify(bins)}`);
  }
  const services: Service[] = [];
  if (available) {
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    services.push(pg, redis);
    project.provide('postgresUrl', pg.url);
    project.provide('redisUrl', redis.url);
  } else {
    console.warn('PostgreSQL or redis-server not found: running on the embedded backends only');
    project.provide('postgresUrl', '');
    project.provide('redisUrl', '');
  }
  return async () => {
    await Promise.all(services.map((s) => s.stop()));
  };
}
