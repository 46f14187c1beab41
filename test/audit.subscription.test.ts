import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../src/modules/audit/service.js';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectOk, login, logout, signIn, signUp, type Tokens } from './support/actions.js';
import {
  grantAdmin,
  revokeAdmin,
  subscribeSse,
  subscribeWs,
  SUBSCRIPTION,
  waitForEvent,
  waitForSubscribers,
  wsClient,
  type Received,
} from './support/audit.js';

describe.each(backends())('auditEvents subscription (%s)', (backend) => {
  const app = useTestApp(backend);
  let url: string;
  const open: Received[] = [];
  beforeAll(async () => {
    url = await app.listen();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close()));
    await waitForSubscribers(app, 0);
  });

  const track = <T extends Received>(received: T): T => (open.push(received), received);
  const ws = (token: string, filter?: Record<string, unknown>) => track(subscribeWs(url, token, filter));
  const sse = async (token: string, filter?: Record<string, unknown>) =>
    track(await subscribeSse((_, init) => app.fetch('/graphql', init), url, token, filter));
  /** Commits one more event and waits until every given subscriber has it (delivery is in commit order). */
  const settle = async (...received: Received[]) => {
    const marker = await signUp(app);
    await Promise.all(received.map((r) => waitForEvent(r, (e) => e.userId === marker.userId)));
  };
  const admin = async (): Promise<Tokens> => {
    const tokens = await signUp(app);
    await grantAdmin(app, tokens.userId);
    return tokens;
  };

  it('answers FORBIDDEN to a user without audit:read and UNAUTHENTICATED to no token, over graphql-ws and SSE', async () => {
    const user = await signUp(app);
    const overWs = ws(user.accessToken);
    const overSse = await sse(user.accessToken);
    await Promise.all([overWs.ended, overSse.ended]);
    expect(overWs.errors).toEqual(['FORBIDDEN']);
    expect(overSse.errors).toEqual(['FORBIDDEN']);
    const text = await (
      await app.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: SUBSCRIPTION }),
      })
    ).text();
    expect(text).toContain('"code":"UNAUTHENTICATED"');
  });

  it('delivers each committed event, once, to subscribers over graphql-ws and SSE, as auditLogs shows it', async () => {
    const { accessToken } = await admin();
    const overWs = ws(accessToken);
    const overSse = await sse(accessToken);
    await waitForSubscribers(app, 2);
    const user = await signUp(app);
    await login(app, user.email);
    await login(app, user.email, 'wrong password');
    for (const received of [overWs, overSse]) {
      const failed = await waitForEvent(received, (e) => e.action === 'user.login_failed' && e.userId === user.userId);
      const actions = received.events.filter((e) => e.userId === user.userId).map((e) => e.action);
      expect(actions).toEqual(['user.registered', 'user.login', 'user.login_failed']);
      const logged = expectOk(
        await app.gql(
          `{ auditLogs(filter: { actions: ["user.login_failed"] }, first: 1) { nodes { id at action outcome actorId userId ip userAgent metadata } } }`,
          {},
          { token: accessToken },
        ),
      );
      expect(logged.auditLogs.nodes[0]).toEqual(failed);
    }
    // A later event reached both: anything delivered twice before it has arrived by now.
    await settle(overWs, overSse);
    // Events from before both were listening (the admin's own registration) may differ. Counted,
    // not deduplicated: a second delivery of any event fails here.
    const ids = (r: Received) => r.events.filter((e) => e.userId === user.userId).map((e) => e.id);
    expect(ids(overWs)).toHaveLength(3);
    expect(new Set(ids(overWs)).size).toBe(3);
    expect(ids(overSse)).toEqual(ids(overWs));
  });

  it('gives subscribers with different selections and variables each their own result (one execution per kind)', async () => {
    const { accessToken } = await admin();
    const user = await signUp(app);
    const logins = { userId: user.userId, actions: ['user.login', 'user.login_failed'] };
    const client = wsClient(url, accessToken);
    const narrow: unknown[] = [];
    const stop = client.subscribe(
      { query: 'subscription($f: AuditFilter) { auditEvents(filter: $f) { action u: userId } }', variables: { f: logins } },
      {
        next: (value) => void narrow.push(value.data),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    try {
      const [wide, other] = [ws(accessToken, logins), ws(accessToken, { ...logins, actions: ['user.login'] })];
      await waitForSubscribers(app, 3);
      await login(app, user.email);
      await login(app, user.email, 'wrong password');
      await waitForEvent(wide, (e) => e.action === 'user.login_failed');
      await expect.poll(() => narrow).toHaveLength(2);
      expect(narrow).toEqual([{ auditEvents: { action: 'user.login', u: user.userId } }, { auditEvents: { action: 'user.login_failed', u: user.userId } }]);
      expect(wide.events.map((e) => [e.action, e.outcome, e.userId])).toEqual([
        ['user.login', 'SUCCESS', user.userId],
        ['user.login_failed', 'FAILURE', user.userId],
      ]);
      expect(other.events.map((e) => e.action)).toEqual(['user.login']);
    } finally {
      stop();
      await client.dispose();
    }
  });

  it('applies the filter on the server', async () => {
    const { accessToken } = await admin();
    const [a, b] = [await signUp(app), await signUp(app)];
    const filtered = ws(accessToken, { userId: a.userId, actions: ['user.login_failed', 'user.logout'], outcome: 'FAILURE' });
    const everything = ws(accessToken);
    await waitForSubscribers(app, 2);
    await login(app, a.email);
    await login(app, b.email, 'wrong password');
    await login(app, a.email, 'wrong password');
    await logout(app, a.accessToken);
    // One more event the filter lets through: once it arrives, the ones before it were judged.
    await login(app, a.email, 'wrong password again');
    await waitForEvent(everything, (e) => e.action === 'user.logout' && e.userId === a.userId);
    await expect.poll(() => filtered.events.length).toBeGreaterThanOrEqual(2);
    expect(filtered.events.map((e) => [e.action, e.userId])).toEqual([
      ['user.login_failed', a.userId],
      ['user.login_failed', a.userId],
    ]);
  });

  it('ends the subscription of a session that logs out, before delivering anything after it', async () => {
    const subscriber = await admin();
    const second = await signIn(app, subscriber.email);
    const watcher = await admin();
    const [overWs, overSse, onOtherSession, witness] = [
      ws(subscriber.accessToken),
      await sse(subscriber.accessToken),
      ws(second.accessToken),
      ws(watcher.accessToken),
    ];
    await waitForSubscribers(app, 4);
    expectOk(await logout(app, subscriber.accessToken));
    await Promise.all([overWs.ended, overSse.ended]);
    for (const ended of [overWs, overSse]) {
      expect(ended.errors).toEqual(['UNAUTHENTICATED']);
      expect(ended.events.filter((e) => e.action === 'user.logout')).toEqual([]);
    }
    // The user's other session and other admins go on.
    await waitForEvent(witness, (e) => e.action === 'user.logout' && e.userId === subscriber.userId);
    await waitForEvent(onOtherSession, (e) => e.action === 'user.logout' && e.userId === subscriber.userId);
    expect(onOtherSession.isEnded()).toBe(false);
  });

  it('stops delivery to a subscriber whose audit:read is taken away (within a second)', async () => {
    const subscriber = await admin();
    const overWs = ws(subscriber.accessToken);
    const overSse = await sse(subscriber.accessToken);
    await waitForSubscribers(app, 2);
    const user = await signUp(app);
    await waitForEvent(overWs, (e) => e.userId === user.userId);
    await revokeAdmin(app, subscriber.userId);
    // Answers are cached for at most a second; a role change made through the API (an audited
    // admin.user_updated) clears them at once, this direct database change cannot. The cache
    // runs on the app's monotonic clock: moved past the TTL instead of slept through.
    app.clock.advance(1100);
    await login(app, user.email);
    await Promise.all([overWs.ended, overSse.ended]);
    for (const ended of [overWs, overSse]) {
      expect(ended.errors).toEqual(['FORBIDDEN']);
      expect(ended.events.filter((e) => e.action === 'user.login')).toEqual([]);
    }
  });

  it('stops delivery at once when an admin takes the role away through the API', async () => {
    const subscriber = await admin();
    const other = await admin();
    const overWs = ws(subscriber.accessToken);
    const witness = ws(other.accessToken);
    await waitForSubscribers(app, 2);
    // A delivered event: the subscriber's access is now cached as allowed.
    const user = await signUp(app);
    await waitForEvent(overWs, (e) => e.userId === user.userId);
    expectOk(
      await app.gql('mutation($id: ID!) { updateUser(id: $id, input: { roles: ["user"] }) { id } }', { id: subscriber.userId }, { token: other.accessToken }),
    );
    // No wait for the cache: the audited role change itself clears it, and is not delivered.
    await overWs.ended;
    expect(overWs.errors).toEqual(['FORBIDDEN']);
    expect(overWs.events.filter((e) => e.action === 'admin.user_updated')).toEqual([]);
    await waitForEvent(witness, (e) => e.action === 'admin.user_updated' && e.userId === subscriber.userId);
  });

  it('does not replay events committed before the subscription started', async () => {
    const { accessToken } = await admin();
    const early = ws(accessToken);
    await waitForSubscribers(app, 1);
    const user = await signUp(app);
    await waitForEvent(early, (e) => e.userId === user.userId);
    const late = ws(accessToken);
    await waitForSubscribers(app, 2);
    await login(app, user.email);
    await waitForEvent(late, (e) => e.action === 'user.login' && e.userId === user.userId);
    expect(late.events.filter((e) => e.userId === user.userId).map((e) => e.action)).toEqual(['user.login']);
  });

  it('delivers an event whose transaction commits after later ones, once', async () => {
    const { accessToken } = await admin();
    const received = ws(accessToken);
    await waitForSubscribers(app, 1);
    const user = await signUp(app);
    // The slow transaction takes its transaction id and sequence value first, then commits when
    // the test lets it: after the login has committed (real), or once the login is queued behind
    // it (PGlite has one connection). No sleep decides the order.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let recorded!: (id: string) => void;
    const slowRecorded = new Promise<string>((resolve) => (recorded = resolve));
    const slow = app.deps.db.transaction(async (tx) => {
      recorded((await recordAudit(app.deps, tx, { action: 'user.updated', userId: user.userId, meta: { requestId: 't', ip: null, userAgent: null } })).id);
      await gate;
    });
    const slowId = await slowRecorded;
    const finished: string[] = [];
    const loggedIn = login(app, user.email).then(() => finished.push('login'));
    const committed = slow.then(() => finished.push('slow'));
    if (backend === 'real') await loggedIn;
    release();
    await Promise.all([loggedIn, committed]);
    // Out of order for real: the login took a later sequence value and committed first. (PGlite has
    // one connection, so there the login waits for the slow transaction.)
    const rows = await auditRows(app, { userId: user.userId });
    const seqOf = (action: string) => rows.find((r) => r.action === action)!.seq;
    expect(seqOf('user.updated')).toBeLessThan(seqOf('user.login'));
    if (backend === 'real') expect(finished).toEqual(['login', 'slow']);
    await waitForEvent(received, (e) => e.action === 'user.login' && e.userId === user.userId);
    await waitForEvent(received, (e) => e.id === slowId);
    await settle(received);
    const mine = received.events.filter((e) => e.userId === user.userId).map((e) => e.action);
    expect(mine).toEqual(['user.registered', 'user.updated', 'user.login']);
  });
});
