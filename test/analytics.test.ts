import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET_BOUNDS_MS, findBucket, computePercentile, slotKeys } from '../src/modules/analytics/latency.js';
import { recordAudit } from '../src/modules/audit/service.js';
import { userRoles } from '../src/modules/roles/tables.js';
import { backends, createInstances, type TestApp, useTestApp } from './support/app.js';
import { expectCode, expectOk, login, me, signIn, signUp, uniqueEmail, type Tokens } from './support/actions.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** These tests move the clock by days; a fresh sign-in would add a login to the counts. */
const LONG_TOKENS = { ACCESS_TOKEN_TTL: '7d' };

type Latency = { operation: string; count: number; p50Ms: number; p95Ms: number; p99Ms: number };
type Analytics = {
  since: string;
  until: string;
  registrations: number;
  loginsSucceeded: number;
  loginsFailed: number;
  mfaChallengesSucceeded: number;
  mfaChallengesFailed: number;
  latency: Latency[];
};

const ANALYTICS = `query($since: DateTime, $until: DateTime) {
  analytics(since: $since, until: $until) {
    since until registrations loginsSucceeded loginsFailed mfaChallengesSucceeded mfaChallengesFailed
    latency { operation count p50Ms p95Ms p99Ms }
  }
}`;

function setup(app: () => TestApp) {
  const analytics = (token: string | undefined, window: { since?: number; until?: number } = {}) =>
    app().gql<{ analytics: Analytics }>(
      ANALYTICS,
      {
        since: window.since === undefined ? undefined : new Date(window.since).toISOString(),
        until: window.until === undefined ? undefined : new Date(window.until).toISOString(),
      },
      { token },
    );
  const analyticsOk = async (token: string, window?: { since?: number; until?: number }) => expectOk(await analytics(token, window)).analytics;
  /** A registered user given the built-in admin role (every cap) straight in the database. */
  const signUpAdmin = async (): Promise<Tokens> => {
    const tokens = await signUp(app());
    await app().deps.db.insert(userRoles).values({ userId: tokens.userId, role: 'admin' });
    return tokens;
  };
  /** No API produces MFA challenges yet (the MFA issue does): their audit rows are written as the service would. */
  const mfaChallenge = (userId: string, succeeded: boolean) =>
    recordAudit(app().deps, app().deps.db, {
      action: succeeded ? 'mfa.challenge_succeeded' : 'mfa.challenge_failed',
      outcome: succeeded ? 'SUCCESS' : 'FAILURE',
      userId,
      meta: { requestId: 'test', ip: null, userAgent: null },
    });
  return { analytics, analyticsOk, signUpAdmin, mfaChallenge };
}

const byOperation = (a: Analytics) => Object.fromEntries(a.latency.map((l) => [l.operation, l.count]));

describe('latency histograms', () => {
  it('puts a duration in the first bucket whose bound holds it, slow ones in the overflow bucket', () => {
    expect(findBucket(0)).toBe(0);
    expect(findBucket(0.5)).toBe(0);
    expect(findBucket(0.51)).toBe(1);
    expect(findBucket(1)).toBe(4);
    for (const [i, bound] of BUCKET_BOUNDS_MS.entries()) expect(findBucket(bound)).toBe(i);
    expect(BUCKET_BOUNDS_MS.at(-1)).toBeGreaterThanOrEqual(30_000);
    expect(findBucket(10 * 60_000)).toBe(BUCKET_BOUNDS_MS.length);
  });

  it('estimates percentiles within one bucket width (~19%)', () => {
    const counts = new Array<number>(BUCKET_BOUNDS_MS.length + 1).fill(0);
    for (let ms = 1; ms <= 1000; ms++) counts[findBucket(ms)]!++;
    for (const [p, exact] of [
      [0.5, 500],
      [0.95, 950],
      [0.99, 990],
    ] as const) {
      expect(computePercentile(counts, p)).toBeGreaterThan(exact / 1.19);
      expect(computePercentile(counts, p)).toBeLessThan(exact * 1.19);
    }
    const slow = new Array<number>(BUCKET_BOUNDS_MS.length + 1).fill(0);
    slow[BUCKET_BOUNDS_MS.length] = 1;
    expect(computePercentile(slow, 0.5)).toBe(BUCKET_BOUNDS_MS.at(-1));
  });

  it('reads a window from whole hours and the minutes at its edges', () => {
    expect(slotKeys(59, 181)).toEqual(['lat:m:59', 'lat:h:1', 'lat:h:2', 'lat:m:180']);
    expect(slotKeys(61, 65)).toEqual(['lat:m:61', 'lat:m:62', 'lat:m:63', 'lat:m:64']);
    expect(slotKeys(120, 120)).toEqual([]);
  });
});

describe.each(backends())('analytics (%s)', (backend) => {
  describe('access and windows', () => {
    const app = useTestApp(backend);
    const { analytics, analyticsOk, signUpAdmin } = setup(() => app);

    it('is FORBIDDEN to a plain user and UNAUTHENTICATED to an anonymous caller', async () => {
      const user = await signUp(app);
      expectCode(await analytics(user.accessToken), 'FORBIDDEN');
      expectCode(await analytics(undefined), 'UNAUTHENTICATED');
    });

    it('defaults to the 24 hours before now, by the clock', async () => {
      const admin = await signUpAdmin();
      const now = app.clock.now();
      const a = await analyticsOk(admin.accessToken);
      expect(a.until).toBe(new Date(now).toISOString());
      expect(a.since).toBe(new Date(now - DAY).toISOString());
      const until = now - 5 * HOUR;
      const b = await analyticsOk(admin.accessToken, { until });
      expect(b.since).toBe(new Date(until - DAY).toISOString());
    });

    it('refuses a window that ends before it starts, or spans more than 90 days, with BAD_USER_INPUT', async () => {
      const admin = await signUpAdmin();
      const now = app.clock.now();
      expectCode(await analytics(admin.accessToken, { since: now, until: now - 1 }), 'BAD_USER_INPUT');
      expectCode(await analytics(admin.accessToken, { since: now + HOUR }), 'BAD_USER_INPUT');
      expectCode(await analytics(admin.accessToken, { since: now - 90 * DAY - 1, until: now }), 'BAD_USER_INPUT');
      expectCode(await analytics(admin.accessToken, { since: now - 91 * DAY }), 'BAD_USER_INPUT');
      const bad = await app.gql(ANALYTICS, { since: 'yesterday' }, { token: admin.accessToken });
      expectCode(bad, 'BAD_USER_INPUT');
      expect((await analyticsOk(admin.accessToken, { since: now - 90 * DAY, until: now })).since).toBe(new Date(now - 90 * DAY).toISOString());
      expect((await analyticsOk(admin.accessToken, { since: now, until: now })).registrations).toBe(0);
    });
  });

  describe('counts', () => {
    const app = useTestApp(backend, { env: LONG_TOKENS });
    const { analyticsOk, signUpAdmin, mfaChallenge } = setup(() => app);

    it('counts registrations, logins and MFA challenges in [since, until) from the audit trail', async () => {
      const t0 = app.clock.now();
      const admin = await signUpAdmin();
      const alice = await signUp(app);
      const bob = await signUp(app);
      await signIn(app, alice.email);
      await signIn(app, alice.email);
      await signIn(app, bob.email);
      expectCode(await login(app, alice.email, 'not the password at all'), 'INVALID_CREDENTIALS');
      expectCode(await login(app, uniqueEmail('nobody'), 'not the password at all'), 'INVALID_CREDENTIALS');
      await mfaChallenge(alice.userId, true);
      await mfaChallenge(alice.userId, false);
      await mfaChallenge(bob.userId, false);
      const expected = { registrations: 3, loginsSucceeded: 3, loginsFailed: 2, mfaChallengesSucceeded: 1, mfaChallengesFailed: 2 };

      // Every event happened at t0 (the test clock stands still): until is exclusive, since inclusive.
      expect(await analyticsOk(admin.accessToken, { since: t0 - HOUR, until: t0 })).toMatchObject(zero(expected));
      expect(await analyticsOk(admin.accessToken, { since: t0, until: t0 + 1 })).toMatchObject(expected);
      expect(await analyticsOk(admin.accessToken, { since: t0 + 1, until: t0 + HOUR })).toMatchObject(zero(expected));
      app.clock.advance(1);
      expect(await analyticsOk(admin.accessToken)).toMatchObject(expected);

      // A day later the default window starts 1 ms after them.
      app.clock.advance(DAY - 1);
      expect(await analyticsOk(admin.accessToken)).toMatchObject(expected);
      app.clock.advance(1);
      expect(await analyticsOk(admin.accessToken)).toMatchObject(zero(expected));

      // Later events count in their own window only.
      await signUp(app);
      app.clock.advance(1);
      expect(await analyticsOk(admin.accessToken)).toMatchObject({ ...zero(expected), registrations: 1 });
      expect(await analyticsOk(admin.accessToken, { since: t0, until: app.clock.now() })).toMatchObject({ ...expected, registrations: 4 });
    });
  });

  describe('latency', () => {
    const app = useTestApp(backend, { env: LONG_TOKENS });
    const { analyticsOk, signUpAdmin } = setup(() => app);

    it('reports every query and mutation by root field, with its count and ordered percentiles', async () => {
      const admin = await signUpAdmin();
      for (let i = 0; i < 3; i++) expectOk(await me(app, admin.accessToken));
      expectOk(await app.gql('query PretendToBeLogin { me { id } }', {}, { token: admin.accessToken }));
      expectOk(await app.gql('query { __typename }'));
      expectOk(await app.gql('query Both { a: me { id } mySessions { id } }', {}, { token: admin.accessToken }));
      expectCode(await login(app, admin.email, 'not the password at all'), 'INVALID_CREDENTIALS');
      expectCode(await login(app, admin.email, 'not the password at all'), 'INVALID_CREDENTIALS');
      // Never executed: neither a syntax error nor a validation failure is an operation.
      expectCode(await app.gql('query {'), 'BAD_USER_INPUT');
      expectCode(await app.gql('query { noSuchField }'), 'BAD_USER_INPUT');

      const first = await analyticsOk(admin.accessToken);
      expect(byOperation(first)).toEqual({
        'Mutation.login': 2,
        'Mutation.register': 1,
        'Query (several fields)': 1,
        'Query.__typename': 1,
        'Query.me': 4,
      });
      for (const l of first.latency) {
        expect(l.p50Ms).toBeGreaterThan(0);
        expect(l.p50Ms).toBeLessThanOrEqual(l.p95Ms);
        expect(l.p95Ms).toBeLessThanOrEqual(l.p99Ms);
      }
      // The analytics query itself is recorded once its result is ready: the next one sees it.
      const second = await analyticsOk(admin.accessToken);
      expect(byOperation(second)['Query.analytics']).toBe(1);
      expect(second.latency.map((l) => l.operation)).toEqual([...second.latency.map((l) => l.operation)].sort());
    });

    it('keeps latency in the minutes it happened: windows that miss them have none, later ones read them from hours', async () => {
      const admin = await signUpAdmin();
      const before = byOperation(await analyticsOk(admin.accessToken));
      app.clock.advance(3 * HOUR);
      expect((await analyticsOk(admin.accessToken, { since: app.clock.now() - HOUR })).latency).toEqual([]);
      // The default window now spans whole hours in the middle and minutes at its edges.
      const later = byOperation(await analyticsOk(admin.accessToken));
      expect(later).toEqual({ ...before, 'Query.analytics': (before['Query.analytics'] ?? 0) + 2 });
      // A day on, only the minute the last two analytics queries ran in is still in the window.
      app.clock.advance(DAY);
      expect(byOperation(await analyticsOk(admin.accessToken))).toEqual({ 'Query.analytics': 2 });
    });
  });
});

describe.runIf(backends().includes('real'))('analytics across instances (real)', () => {
  let a: TestApp;
  let b: TestApp;
  let bClosed = false;
  beforeAll(async () => {
    [a, b] = await createInstances();
  });
  afterAll(async () => {
    await a?.close();
    if (!bClosed) await b?.close();
  });
  const { analyticsOk, signUpAdmin } = setup(() => a);

  it('sums the operations of every instance, flushed on demand, by the timer and at shutdown', async () => {
    const admin = await signUpAdmin();
    for (let i = 0; i < 2; i++) expectOk(await me(a, admin.accessToken));
    for (let i = 0; i < 3; i++) expectOk(await me(b, admin.accessToken));
    await b.deps.latency.flush();
    a.clock.advance(1);
    const both = await analyticsOk(admin.accessToken);
    expect(byOperation(both)['Query.me']).toBe(5);
    expect(both.registrations).toBe(1);

    // Without a flush, b's timer (every 2 s) delivers it.
    expectOk(await me(b, admin.accessToken));
    await expect.poll(async () => byOperation(await analyticsOk(admin.accessToken))['Query.me'], { timeout: 10_000, interval: 250 }).toBe(6);

    // Shutting down flushes what is left.
    expectOk(await me(b, admin.accessToken));
    await b.close();
    bClosed = true;
    expect(byOperation(await analyticsOk(admin.accessToken))['Query.me']).toBe(7);
  });
});

function zero<T extends Record<string, number>>(counts: T): T {
  return Object.fromEntries(Object.keys(counts).map((k) => [k, 0])) as T;
}
