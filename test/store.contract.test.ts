import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Store } from '../src/shared/store.js';
import { createMemoryStore } from '../src/shared/store-memory.js';
import { createRedisStore } from '../src/shared/store-redis.js';
import { backends, createTestClock, hasRedisCluster } from './support/app.js';

/**
 * The store is a port with two adapters; these are its promises, held by both. (Sessions and
 * refresh rotation are covered through the API; counters, codes and pub/sub are used by
 * later features, so their atomicity is pinned here.)
 */
const kinds = [...backends(), ...(hasRedisCluster() ? (['cluster'] as const) : [])];

describe.each(kinds)('store contract (%s)', (backend) => {
  const stores: Store[] = [];
  // The memory store is single-instance by design (one process, one object: an embedded second
  // instance is handed the first one's store), so its "two handles" are one handle used from
  // concurrent callers; the Redis stores get two connections onto one prefix. Test names say which.
  const single = backend === 'embedded';
  const handles = single ? 'on one handle (the memory store is single-instance)' : 'from two handles';
  // Time: the memory store reads an injected clock, moved by `pass`; Redis expires keys on its own
  // clock, so there `pass` has to wait for real.
  const clock = createTestClock();
  const pass = (ms: number) => (single ? clock.advance(ms) : new Promise((resolve) => setTimeout(resolve, ms)));
  const open = () => {
    const prefix = `store-test:${randomUUID()}:`;
    const make = () =>
      backend === 'real'
        ? createRedisStore({ url: inject('redisUrl'), prefix })
        : backend === 'cluster'
          ? createRedisStore({ url: inject('redisClusterUrl'), cluster: true, prefix })
          : createMemoryStore({ now: clock.now });
    const store = make();
    stores.push(store);
    const twin = single ? store : make();
    if (twin !== store) stores.push(twin);
    // Two handles must be two connections, or the test would compare a store with itself.
    expect(twin === store).toBe(single);
    return { store, twin };
  };
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });

  it(`counts 100 concurrent increments exactly, ${handles}`, async () => {
    const { store, twin } = open();
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? store : twin).counters.increment('k', 60_000)));
    expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(results.every((r) => r.resetInMs > 0 && r.resetInMs <= 60_000)).toBe(true);
    await store.counters.reset('k');
    expect((await twin.counters.increment('k', 60_000)).count).toBe(1);
  });

  it('regression: scripts on keys of many slots in one tick all run (Cluster auto-pipelining routes each by its key)', async () => {
    const { store, twin } = open();
    // 40 histogram slots and 40 counters at once: on Redis Cluster their keys spread over every
    // node, and scripts sent together used to share a pipeline by their key count instead.
    const entries = Array.from({ length: 40 }, (_, i) => ({ key: `slot-${i}`, counts: { [`op${i}`]: i + 1 }, ttlMs: 60_000 }));
    const counted = await Promise.all([store.histograms.add(entries), ...Array.from({ length: 40 }, (_, i) => twin.counters.increment(`spread-${i}`, 60_000))]);
    expect(counted.slice(1).map((r) => (r as { count: number }).count)).toEqual(Array.from({ length: 40 }, () => 1));
    const sums = await twin.histograms.read(entries.map((e) => e.key));
    expect(Object.fromEntries(sums)).toEqual(Object.fromEntries(entries.map((_, i) => [`op${i}`, i + 1])));
  });

  it('regression: different scripts sent in one tick by a fresh connection all run (each is defined before the first command)', async () => {
    const { store } = open();
    // The first commands of a connection: an auto-pipeline made for the first script copies the
    // scripts defined so far, so a script defined lazily afterwards was missing from it.
    const [counted, taken, , missingSession] = await Promise.all([
      store.counters.increment('first-tick', 60_000),
      store.codes.takeIf('first-tick-code', 'nothing here'),
      store.histograms.add([{ key: 'first-tick-hist', counts: { op: 1 }, ttlMs: 60_000 }]),
      store.sessions.delete('no-such-session'),
      store.sessions.touch('no-such-session', 1),
    ]);
    expect(counted.count).toBe(1);
    expect(taken).toBe(false);
    expect(missingSession).toBeNull();
    expect(Object.fromEntries(await store.histograms.read(['first-tick-hist']))).toEqual({ op: 1 });
  });

  it('starts a new window when the old one ends', async () => {
    const { store } = open();
    await store.counters.increment('w', 50);
    await pass(80);
    expect((await store.counters.increment('w', 50)).count).toBe(1);
  });

  it(`gives a one-time code to exactly one of twenty concurrent takers, ${handles}`, async () => {
    const { store, twin } = open();
    await store.codes.set('c', 'value', 60_000);
    expect(await twin.codes.get('c')).toBe('value');
    const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : twin).codes.takeIf('c', 'value')));
    expect(taken.filter(Boolean)).toHaveLength(1);
    expect(await store.codes.get('c')).toBeNull();
  });

  it('takes a code only while it holds the expected value: a newer one stays', async () => {
    const { store, twin } = open();
    await store.codes.set('n', 'old', 60_000);
    await twin.codes.set('n', 'new', 60_000);
    expect(await store.codes.takeIf('n', 'old')).toBe(false);
    expect(await twin.codes.get('n')).toBe('new');
    expect(await twin.codes.takeIf('n', 'new')).toBe(true);
    expect(await store.codes.get('n')).toBeNull();
  });

  it('expires codes', async () => {
    const { store } = open();
    await store.codes.set('e', 'v', 30);
    await pass(60);
    expect(await store.codes.get('e')).toBeNull();
    expect(await store.codes.takeIf('e', 'v')).toBe(false);
  });

  it('delivers published messages to every subscriber until it unsubscribes', async () => {
    const { store, twin } = open();
    const got: string[] = [];
    const witnessed: string[] = [];
    const unsubscribe = await twin.pubsub.subscribe('events', (m) => got.push(m));
    await twin.pubsub.subscribe('events', (m) => witnessed.push(m));
    await store.pubsub.publish('events', 'one');
    await expect.poll(() => got, { timeout: 2_000 }).toEqual(['one']);
    await unsubscribe();
    await store.pubsub.publish('events', 'two');
    // A subscriber still listening has heard 'two': had the first one not left, it would have too.
    await expect.poll(() => witnessed, { timeout: 2_000 }).toEqual(['one', 'two']);
    expect(got).toEqual(['one']);
  });

  it(`decides the CAPTCHA in the gate step: of 50 concurrent attempts without one ${handles}, exactly \`after\` pass`, async () => {
    const { store, twin } = open();
    const options = { now: Date.now(), free: 10, hard: 100, baseDelayMs: 1_000, maxDelayMs: 60_000, ttlMs: 60_000 };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? store : twin).gates.begin('g', { ...options, captcha: { after: 5, solved: false } })),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
    expect(results.filter((r) => !r.allowed && r.captcha)).toHaveLength(45);
    expect(await twin.gates.peek('g')).toBe(5);
    // A solved CAPTCHA is counted, and said to have been needed.
    expect(await store.gates.begin('g', { ...options, captcha: { after: 5, solved: true } })).toEqual({ allowed: true, attempt: 6, captcha: true });
  });

  it(`reserves sliding-window slots atomically: of 30 concurrent calls ${handles}, each sees another count`, async () => {
    const { store, twin } = open();
    const now = Date.now();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? store : twin).windows.reserve('w', { now, windowMs: 60_000, max: 5 })));
    expect(
      results
        .map((r) => r.before)
        .sort((a, b) => a - b)
        .slice(0, 6),
    ).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results.filter((r) => r.before < 5)).toHaveLength(5);
    expect(results.filter((r) => r.before >= 5).every((r) => r.retryAt === now + 60_000)).toBe(true);
    // Entries leave the window by the time passed in; only the newest max + 1 are kept.
    expect((await store.windows.reserve('w', { now: now + 30_000, windowMs: 60_000, max: 5 })).before).toBe(6);
    expect(await twin.windows.reserve('w', { now: now + 60_000, windowMs: 60_000, max: 5 })).toEqual({ before: 1, retryAt: 0 });
  });

  it(`rotates a refresh token for exactly one of concurrent callers ${handles}`, async () => {
    const { store, twin } = open();
    const now = Date.now();
    const session = {
      id: randomUUID(),
      userId: randomUUID(),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + 60_000,
      ip: null,
      userAgent: null,
      amr: ['pwd'],
      mfaVerified: false,
    };
    await store.sessions.create(session, { hash: 'h0', expiresAt: now + 60_000 });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? store : twin).sessions.rotateRefresh({
          sessionId: session.id,
          oldHash: 'h0',
          next: { hash: `h${i + 1}` },
          successorBox: `box${i + 1}`,
          now,
          graceMs: 10_000,
        }),
      ),
    );
    const rotated = results.filter((r) => r.status === 'rotated');
    expect(rotated).toHaveLength(1);
    const graces = results.filter((r) => r.status === 'grace');
    expect(graces).toHaveLength(9);
    // Every latecomer is handed the winner's successor.
    const winner = results.findIndex((r) => r.status === 'rotated');
    for (const g of graces) expect(g.status === 'grace' && g.successorBox).toBe(`box${winner + 1}`);
    // Rotation never extends a session.
    expect((await twin.sessions.get(session.id, now))?.expiresAt).toBe(now + 60_000);
  });
});
