import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubscriberAccess } from '../src/modules/audit/access.js';
import { createAccessTokenVerifier } from '../src/modules/tokens/verifier.js';
import { signUp, type Tokens } from './support/actions.js';
import { backends, createShared, createTestApp, type TestApp } from './support/app.js';

/**
 * The bounded caches drop the least recently used entry when full. They used to start over
 * (every entry gone at once) or drop the oldest insert, so one more client evicted the hot ones.
 */
describe.each(backends())('bounded caches (%s)', (backend) => {
  let app: TestApp;
  let users: Tokens[];
  beforeAll(async () => {
    app = await createTestApp(await createShared(backend));
    users = [await signUp(app), await signUp(app), await signUp(app)];
  });
  afterAll(async () => {
    await app?.close();
  });

  it('regression: the access-token verifier keeps a recently used token when full', async () => {
    const fetched: string[] = [];
    const keys = { ...app.deps.keys, publicKey: (kid: string) => (fetched.push(kid), app.deps.keys.publicKey(kid)) };
    const verifier = createAccessTokenVerifier({ config: app.deps.config, clock: app.clock, keys }, 2);
    const [a, b, c] = users.map((u) => u.accessToken) as [string, string, string];
    for (const token of [a, b, a, c]) expect('token' in (await verifier.verify(token))).toBe(true);
    expect(fetched).toHaveLength(3); // a, b, c verified once each; the second a was a hit
    expect('token' in (await verifier.verify(a))).toBe(true); // still cached: b was the least recent
    expect(fetched).toHaveLength(3);
    expect('token' in (await verifier.verify(b))).toBe(true); // b was evicted, so verified again
    expect(fetched).toHaveLength(4);
  });

  it('regression: the subscriber-access cache evicts one entry when full, not all of them', async () => {
    const reads: string[] = [];
    const sessions = { ...app.deps.store.sessions, get: (id: string, now: number) => (reads.push(id), app.deps.store.sessions.get(id, now)) };
    const store = { ...app.deps.store, sessions };
    const access = createSubscriberAccess({ db: app.deps.db, store, clock: app.clock }, { ttlMs: 60_000, maxEntries: 2 });
    type S = { sessionId: string; userId: string };
    const [a, b, c] = users.map((u) => ({ sessionId: decodeJwt(u.accessToken).sid as string, userId: u.userId })) as [S, S, S];
    // A plain user is signed in but lacks audit:read: the answer is FORBIDDEN either way.
    for (const s of [a, b, a, c]) expect(await access.check(s, 'audit:read')).toBe('FORBIDDEN');
    expect(reads).toEqual([a.sessionId, b.sessionId, c.sessionId]);
    expect(await access.check(a, 'audit:read')).toBe('FORBIDDEN');
    expect(reads).toHaveLength(3); // a stayed cached
    expect(await access.check(b, 'audit:read')).toBe('FORBIDDEN');
    expect(reads).toHaveLength(4);
  });
});
