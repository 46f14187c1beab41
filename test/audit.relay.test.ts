import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Deps } from '../src/deps.js';
import { AUDIT_CHANNEL, startAuditRelay } from '../src/modules/audit/relay.js';
import { recordAudit } from '../src/modules/audit/service.js';
import type { Store } from '../src/shared/store.js';
import { createMemoryStore } from '../src/shared/store-memory.js';
import { createRedisStore } from '../src/shared/store-redis.js';
import { backends, createInstances, createTestClock, type TestApp, useTestApp } from './support/app.js';
import { login, signUp } from './support/actions.js';
import { grantAdmin, subscribeSse, subscribeWs, waitForSubscribers, type Received } from './support/audit.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every message on the audit channel, as event ids in arrival order. */
async function tapChannel(store: Store) {
  const ids: string[] = [];
  const stop = await store.pubsub.subscribe(AUDIT_CHANNEL, (message) => ids.push((JSON.parse(message) as { id: string }).id));
  return { ids, stop };
}

const record = (deps: Pick<Deps, 'clock' | 'random' | 'db'>, userId: string) =>
  recordAudit(deps, deps.db, { action: 'user.updated', userId, meta: { requestId: 't', ip: null, userAgent: null } });

describe.each(backends())('store leases (%s)', (backend) => {
  const stores: Store[] = [];
  // The memory store reads an injected clock, moved by `pass`; Redis expires keys on its own clock.
  const clock = createTestClock();
  const pass = (ms: number) => (backend === 'real' ? sleep(ms) : clock.advance(ms));
  const open = () => {
    const prefix = `lease-test:${randomUUID()}:`;
    const make = () => (backend === 'real' ? createRedisStore({ url: inject('redisUrl'), prefix }) : createMemoryStore({ now: clock.now }));
    const store = make();
    const twin = backend === 'real' ? make() : store;
    stores.push(...new Set([store, twin]));
    return { store, twin };
  };
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });

  it('gives a lease to one owner at a time, renews it for that owner, and frees it on release or expiry', async () => {
    const { store, twin } = open();
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((owner, i) => (i % 2 ? store : twin).leases.acquire('l', owner, 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const holder = ['a', 'b', 'c', 'd'][results.indexOf(true)]!;
    expect(await twin.leases.acquire('l', holder, 60_000)).toBe(true);
    await store.leases.release('l', 'someone else');
    expect(await store.leases.acquire('l', 'x', 60_000)).toBe(false);
    await twin.leases.release('l', holder);
    expect(await store.leases.acquire('l', 'x', 40)).toBe(true);
    await pass(80);
    expect(await twin.leases.acquire('l', 'y', 60_000)).toBe(true);
  });

  it('publishes and saves state only for the holder, atomically', async () => {
    const { store, twin } = open();
    const got: string[] = [];
    const stop = await twin.pubsub.subscribe('ch', (m) => got.push(m));
    expect(await store.leases.acquire('l', 'owner', 60_000)).toBe(true);
    expect(await twin.leases.publish('l', 'intruder', { channel: 'ch', messages: ['x'], state: 'bad' })).toBe(false);
    expect(await store.leases.state('l')).toBeNull();
    expect(await twin.leases.publish('l', 'owner', { channel: 'ch', messages: ['1', '2', '3'], state: 'saved' })).toBe(true);
    await expect.poll(() => got).toEqual(['1', '2', '3']);
    expect(await store.leases.state('l')).toBe('saved');
    await stop();
  });
});

describe.each(backends())('audit relay (%s)', (backend) => {
  const app = useTestApp(backend);

  it('publishes every row of concurrent transactions exactly once, and nothing of a rolled-back one', async () => {
    const tap = await tapChannel(app.deps.store);
    const userId = randomUUID();
    const ids = (
      await Promise.all(
        Array.from({ length: 40 }, () =>
          app.deps.db.transaction((tx) => recordAudit(app.deps, tx, { action: 'user.updated', userId, meta: { requestId: 't', ip: null, userAgent: null } })),
        ),
      )
    ).map((r) => r.id);
    let rolledBack = '';
    await app.deps.db
      .transaction(async (tx) => {
        rolledBack = (await recordAudit(app.deps, tx, { action: 'user.updated', userId, meta: { requestId: 't', ip: null, userAgent: null } })).id;
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const after = (await record(app.deps, userId)).id;
    await expect.poll(() => tap.ids.includes(after), { timeout: 5_000 }).toBe(true);
    // Published in commit order: once a later row is heard, a repeat of an earlier one would be too.
    const sentinel = (await record(app.deps, userId)).id;
    await expect.poll(() => tap.ids.includes(sentinel), { timeout: 5_000 }).toBe(true);
    const mine = tap.ids.filter((id) => [...ids, after, rolledBack].includes(id));
    expect(mine.sort()).toEqual([...ids, after].sort());
    await tap.stop();
  });

  it('catches up from the table after a stop: rows committed while no relay ran are published once, in order', async () => {
    const tap = await tapChannel(app.deps.store);
    await app.deps.audit.relay.stop();
    const userId = randomUUID();
    const missed: string[] = [];
    for (let i = 0; i < 5; i++) missed.push((await record(app.deps, userId)).id);
    await sleep(200);
    expect(tap.ids.filter((id) => missed.includes(id))).toEqual([]);
    const relay = startAuditRelay(app.deps, { pollMs: 20 });
    try {
      await expect.poll(() => tap.ids.filter((id) => missed.includes(id)), { timeout: 5_000 }).toEqual(missed);
      const more = (await record(app.deps, userId)).id;
      await expect.poll(() => tap.ids.includes(more), { timeout: 5_000 }).toBe(true);
      expect(tap.ids.filter((id) => [...missed, more].includes(id))).toEqual([...missed, more]);
    } finally {
      await relay.stop();
      await tap.stop();
    }
  });
});

describe.runIf(backends().includes('real'))('audit relay held back (real)', () => {
  const app = useTestApp('real');
  beforeAll(async () => {
    await app.deps.audit.relay.stop();
  });

  it('holds committed events back while an older transaction runs, says so, and publishes both in order', async () => {
    const tap = await tapChannel(app.deps.store);
    const relay = startAuditRelay(app.deps, { pollMs: 20, heldBackWarnMs: 400 });
    try {
      const userId = randomUUID();
      let release!: () => void;
      let slowId = '';
      const slow = app.deps.db.transaction(async (tx) => {
        slowId = (await recordAudit(app.deps, tx, { action: 'user.updated', userId, meta: { requestId: 't', ip: null, userAgent: null } })).id;
        await new Promise<void>((resolve) => (release = resolve));
      });
      await expect.poll(() => slowId).not.toBe('');
      const quick = (await record(app.deps, userId)).id;
      await expect.poll(() => app.logs.some((l) => l.includes('waiting for a long-running write transaction')), { timeout: 5_000 }).toBe(true);
      expect(tap.ids).not.toContain(quick);
      release();
      await slow;
      await expect.poll(() => tap.ids.filter((id) => id === slowId || id === quick), { timeout: 5_000 }).toEqual([slowId, quick]);
    } finally {
      await relay.stop();
      await tap.stop();
    }
  });
});

describe.runIf(backends().includes('real'))('live audit events across instances (real)', () => {
  let a: TestApp;
  let b: TestApp;
  let urlA: string;
  beforeAll(async () => {
    [a, b] = await createInstances();
    urlA = await a.listen();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('an admin subscribed on A over graphql-ws and over SSE sees a login made on B within a second', async () => {
    const admin = await signUp(a);
    await grantAdmin(a, admin.userId);
    const overWs = subscribeWs(urlA, admin.accessToken);
    const overSse = await subscribeSse((url, init) => fetch(url, init), urlA, admin.accessToken);
    try {
      await waitForSubscribers(a, 2);
      const user = await signUp(b);
      const logins = (r: Received) => r.events.filter((e) => e.action === 'user.login' && e.userId === user.userId).length;
      for (let i = 1; i <= 3; i++) {
        await login(b, user.email);
        // From the moment B answered: on A, over both transports, within a second.
        await expect.poll(() => [logins(overWs), logins(overSse)], { timeout: 1_000, interval: 10 }).toEqual([i, i]);
      }
    } finally {
      await overWs.close();
      await overSse.close();
    }
  });

  it('one instance publishes; when it stops, the other takes over without losing or repeating an event', async () => {
    const tap = await tapChannel(b.deps.store);
    await expect.poll(() => [a, b].filter((x) => x.deps.audit.relay.leading).length, { timeout: 5_000 }).toBe(1);
    const [leader] = [a, b].filter((x) => x.deps.audit.relay.leading);
    const userId = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      if (i === 10) await leader!.deps.audit.relay.stop();
      ids.push((await record((i % 2 ? a : b).deps, userId)).id);
      await sleep(50);
    }
    await expect.poll(() => tap.ids.filter((id) => ids.includes(id)).length, { timeout: 5_000 }).toBe(ids.length);
    // Published in commit order: once a later row is heard, a repeat of an earlier one would be too.
    const sentinel = (await record(a.deps, userId)).id;
    await expect.poll(() => tap.ids.includes(sentinel), { timeout: 5_000 }).toBe(true);
    expect(tap.ids.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
    expect([a, b].filter((x) => x.deps.audit.relay.leading)).toEqual([[a, b].find((x) => x !== leader)]);
    await tap.stop();
  });
});
