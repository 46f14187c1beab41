import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedisStore } from '../src/shared/store-redis.js';
import { backends, hasRedisCluster } from './support/app.js';

/**
 * The Lua scripts go as EVALSHA, and as EVAL when a server answers NOSCRIPT (after a restart, a
 * failover or SCRIPT FLUSH), also inside auto-pipelined batches and on every Cluster node: plain
 * EVALSHA on one server, ioredis custom commands on a Cluster (src/shared/store-redis.ts).
 */
const kinds = [...backends().filter((b) => b === 'real'), ...(hasRedisCluster() ? (['cluster'] as const) : [])];

describe.each(kinds)('Redis store scripts (%s)', (backend) => {
  const cluster = backend === 'cluster';
  const url = cluster ? inject('redisClusterUrl') : inject('redisUrl');
  const prefix = `scripts-test:${randomUUID()}:`;
  const store = createRedisStore({ url, cluster, prefix });
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
    await flushScripts();
    const now = Date.now();
    const session = {
      id: randomUUID(),
      userId: randomUUID(),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + 60_000,
      ip: '127.0.0.1',
      userAgent: 'ua',
      amr: ['pwd'],
      mfaVerified: true,
    };
    await store.sessions.create(session, { hash: 'first', expiresAt: now + 30_000 });
    expect(await store.sessions.get(session.id, now)).toEqual(session);
    // Both keys carry their expiry (the script sets it with the fields).
    const sessionTtl = await admin.pttl(`${prefix}sess:{${session.id}}`);
    const tokenTtl = await admin.pttl(`${prefix}rt:{${session.id}}:first`);
    expect(sessionTtl).toBeGreaterThan(30_000);
    expect(sessionTtl).toBeLessThanOrEqual(60_000);
    expect(tokenTtl).toBeGreaterThan(0);
    expect(tokenTtl).toBeLessThanOrEqual(30_000);
    expect((await store.sessions.listByUser(session.userId, now)).map((s) => s.id)).toEqual([session.id]);
    // The first token was stored with its expiry: it rotates.
    const rotated = await store.sessions.rotateRefresh({
      sessionId: session.id,
      oldHash: 'first',
      next: { hash: 'second' },
      successorBox: 'box',
      now: now + 1,
      graceMs: 0,
    });
    expect(rotated.status).toBe('rotated');
  });
});
