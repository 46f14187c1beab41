import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterShared, createInstances, hasRedisCluster, type TestApp } from './support/app.js';
import { expectCode, expectOk, login, logout, me, refresh, signIn, signUp } from './support/actions.js';
import { grantAdmin, subscribeWs, waitForEvent, waitForSubscribers } from './support/audit.js';

/**
 * Two instances of one deployment on real PostgreSQL and a 3-master Redis Cluster
 * (REDIS_CLUSTER=true, REDIS_URL listing the seed nodes): sessions, refresh rotation,
 * revocation and pub/sub must hold across nodes and instances. The store's own contract runs
 * on the cluster in store.contract.test.ts.
 */
describe.runIf(hasRedisCluster())('Redis Cluster (two instances)', () => {
  let a: TestApp;
  let b: TestApp;
  let urlA: string;
  beforeAll(async () => {
    [a, b] = await createInstances(await createClusterShared());
    urlA = await a.listen();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('runs on the Cluster client', () => {
    expect(a.deps.config.redisCluster).toBe(true);
    expect(a.deps.store.kind).toBe('redis');
  });

  it('register, login and refresh on one instance; logout revokes on the other, and the other way round', async () => {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const user = await signUp(from);
      const session = await signIn(to, user.email);
      expect(expectOk(await me(from, session.accessToken)).me.id).toBe(user.userId);
      const rotated = expectOk(await refresh(from, session.refreshToken)).refreshToken;
      expect(expectOk(await me(to, rotated.accessToken)).me.id).toBe(user.userId);
      expectOk(await logout(to, rotated.accessToken));
      expectCode(await me(from, rotated.accessToken), 'UNAUTHENTICATED');
      expectCode(await refresh(from, rotated.refreshToken), 'INVALID_TOKEN');
      // The first session, on its own keys (another slot), is untouched.
      expect(expectOk(await me(to, user.accessToken)).me.id).toBe(user.userId);
      expectOk(await logout(from, user.accessToken, true));
      expectCode(await me(to, user.accessToken), 'UNAUTHENTICATED');
    }
  });

  it('tells B about a key rotated on A (key publication over cluster pub/sub)', async () => {
    const kids = async (app: TestApp) =>
      ((await (await app.fetch('/.well-known/jwks.json')).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    const before = await kids(b);
    await a.deps.keys.rotate();
    const added = (await kids(a)).filter((kid) => !before.includes(kid));
    expect(added).toHaveLength(1);
    await expect.poll(() => kids(b), { timeout: 2_000 }).toContain(added[0]);
  });

  it('delivers a live audit event from B to a subscriber on A', async () => {
    const admin = await signUp(a);
    await grantAdmin(a, admin.userId);
    const live = subscribeWs(urlA, admin.accessToken);
    try {
      await waitForSubscribers(a, 1);
      const user = await signUp(b);
      expectOk(await login(b, user.email));
      await waitForEvent(live, (e) => e.action === 'user.login' && e.userId === user.userId);
    } finally {
      await live.close();
    }
  });
});
