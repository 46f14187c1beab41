import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedisStore } from '../src/shared/store-redis.js';
import { backends, hasRedisCluster } from './support/app.js';

/**
 * The Lua scripts are ioredis custom commands: EVALSHA, with ioredis sending EVAL when a server
 * answers NOSCRIPT (after a restart, a failover or SCRIPT FLUSH), also inside auto-pipelined
 * batches and on every Cluster node.
 */
const kinds = [...backends().filter((b) => b === 'real'), ...(hasRedisCluster() ? (['cluster'] as const) : [])];

describe.each(kinds)('Redis store scripts (%s)', (backend) => {
  const cluster = backend === 'cluster';
  const url = cluster ? inject('redisClusterUrl') : inject('redisUrl');
  const store = createRedisStore({ url, cluster, prefix: `scripts-test:${randomUUID()}:` });
  const admin = cluster ? new Cluster(url.split(',').map((u) => ({ host: new URL(u).hostname, port: Number(new URL(u).port) }))) : new Redis(url);
  const flushScripts = async () => {
    const nodes = admin instanceof Cluster ? admin.nodes('master') : [admin];
    await Promise.all(nodes.map((node) => node.script('FLUSH')));
  };
  afterAll(async () => {
    await store.close();
    admin.disconnect();
  });

  it('runs every script again after the server forgot them, concurrently and exactly', async () => {
    expect((await store.counters.increment('a', 60_000)).count).toBe(1);
    await flushScripts();
    // Concurrent calls share auto-pipelined batches: each gets NOSCRIPT and is retried once.
    const counts = await Promise.all(Array.from({ length: 20 }, () => store.counters.increment('a', 60_000)));
    expect(counts.map((c) => c.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    await flushScripts();
    await store.codes.set('c', 'v', 60_000);
    expect(await store.codes.takeIf('c', 'v')).toBe(true);
    await flushScripts();
    expect(await store.leases.acquire('l', 'me', 60_000)).toBe(true);
    expect(await store.leases.acquire('l', 'other', 60_000)).toBe(false);
  });
});
