import { describe, expect, it } from 'vitest';
import { backends, useInstances, createShared, createTestApp, type TestApp, useTestApp } from './support/app.js';
import { auditRows, codeOf, expectCode, expectOk, login, PASSWORD, register, signUp, uniqueEmail, uniqueRequestPrefix } from './support/actions.js';
import { userRoles } from '../src/modules/roles/tables.js';

const WRONG = 'definitely not the password';

/** Runs `n` logins at once and returns their error codes and how many passwords were evaluated. */
async function burst(app: TestApp, email: string, n: number) {
  const before = app.hasher.calls.verify;
  const results = await Promise.all(Array.from({ length: n }, () => login(app, email, WRONG)));
  return { codes: results.map(codeOf), evaluated: app.hasher.calls.verify - before, results };
}

const aliases = (n: number) => Array.from({ length: n }, (_, i) => `a${i}: login(input: { email: $email, password: $password }) { accessToken }`).join('\n');

async function grantAdmin(app: TestApp, userId: string) {
  await app.deps.db.insert(userRoles).values({ userId, role: 'admin' });
}

describe.each(backends())('login lockout (%s)', (backend) => {
  const app = useTestApp(backend, { env: { GRAPHQL_MAX_ALIASES: '50' } });

  it('evaluates no more than 10 of 50 concurrent wrong passwords, for known and unknown emails alike', async () => {
    const known = await burst(app, (await signUp(app)).email, 50);
    const unknown = await burst(app, uniqueEmail('ghost'), 50);
    for (const run of [known, unknown]) {
      expect(run.evaluated).toBe(10);
      expect(run.codes.filter((c) => c === 'INVALID_CREDENTIALS')).toHaveLength(10);
      expect(run.codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(40);
      const limited = run.results.find((r) => codeOf(r) === 'RATE_LIMITED')!;
      expect(limited.errors![0]!.extensions.retryAfter).toBeGreaterThanOrEqual(1);
    }
  });

  it('evaluates no more than the limit of 30 aliased wrong logins in one request', async () => {
    const user = await signUp(app);
    const flood = () => app.gql(`mutation($email: String!, $password: String!) { ${aliases(30)} }`, { email: user.email, password: WRONG });
    let before = app.hasher.calls.verify;
    const first = await flood();
    // A failed non-null mutation field ends the serial execution: exactly one password is checked.
    expect(app.hasher.calls.verify - before).toBe(1);
    expect(first.errors?.map((e) => [e.extensions.code, e.path])).toEqual([['INVALID_CREDENTIALS', ['a0']]]);
    // With the streak at LOGIN_DELAY_AFTER (10: this request's failure and 9 more), the next
    // flood is refused before any password is checked.
    for (let i = 0; i < 9; i++) expectCode(await login(app, user.email, WRONG), 'INVALID_CREDENTIALS');
    before = app.hasher.calls.verify;
    const refused = await flood();
    expect(app.hasher.calls.verify - before).toBe(0);
    expect(refused.errors?.map((e) => [e.extensions.code, e.path])).toEqual([['RATE_LIMITED', ['a0']]]);
  });

  it('makes each attempt after the 10th wait longer: retryAfter 1, 2, 4 s', async () => {
    const user = await signUp(app);
    for (let i = 0; i < 10; i++) expectCode(await login(app, user.email, WRONG), 'INVALID_CREDENTIALS');
    for (const wait of [1, 2, 4]) {
      const refused = await login(app, user.email, PASSWORD);
      expectCode(refused, 'RATE_LIMITED');
      expect(refused.errors![0]!.extensions.retryAfter).toBe(wait);
      app.clock.advance(wait * 1000);
      expectCode(await login(app, user.email, WRONG), 'INVALID_CREDENTIALS');
    }
    // Once the wait is over, the right password gets in and the streak is gone.
    app.clock.advance(8_000);
    expectOk(await login(app, user.email));
    for (let i = 0; i < 9; i++) expectCode(await login(app, user.email, WRONG), 'INVALID_CREDENTIALS');
    expectOk(await login(app, user.email));
  });

  it('records rate_limit.exceeded once when the delays start', async () => {
    const email = uniqueEmail('streak');
    const prefix = uniqueRequestPrefix('streak');
    let n = 0;
    const attempt = () => login(app, email, WRONG, { 'x-request-id': `${prefix}${n++}` });
    for (let i = 0; i < 10; i++) expectCode(await attempt(), 'INVALID_CREDENTIALS');
    // The streak goes on through three delays: refused while each runs, evaluated after it.
    for (const wait of [1, 2, 4]) {
      expectCode(await attempt(), 'RATE_LIMITED');
      app.clock.advance(wait * 1000);
      expectCode(await attempt(), 'INVALID_CREDENTIALS');
    }
    // Only this test's requests, and every row they wrote: one, on the 10th attempt (the last
    // before the first delay).
    const rows = await auditRows(app, { action: 'rate_limit.exceeded', requestIdPrefix: prefix });
    expect(rows.map((r) => [r.requestId, r.metadata?.limit])).toEqual([[`${prefix}9`, 'login.delayed']]);
    expect(JSON.stringify(rows)).not.toContain(email);
  });
});

describe.each(backends())('hard lock and unlock (%s)', (backend) => {
  const app = useTestApp(backend, { env: { LOGIN_DELAY_AFTER: '3', LOGIN_LOCK_AFTER: '5' } });

  it('locks after LOGIN_LOCK_AFTER failures until an admin unlocks, whatever the clock says', async () => {
    const user = await signUp(app);
    let evaluated = 0;
    for (let i = 0; i < 20; i++) {
      const before = app.hasher.calls.verify;
      await login(app, user.email, WRONG);
      evaluated += app.hasher.calls.verify - before;
      app.clock.advance(60 * 60_000);
    }
    expect(evaluated).toBe(5);
    const locked = await login(app, user.email, PASSWORD);
    expectCode(locked, 'RATE_LIMITED');
    expect(locked.errors![0]!.extensions).toMatchObject({ locked: true, retryAfter: expect.any(Number) });

    const stranger = await signUp(app);
    const unlock = `mutation($id: ID!) { unlockUser(id: $id) }`;
    expectCode(await app.gql(unlock, { id: user.userId }, { token: stranger.accessToken }), 'FORBIDDEN');
    expectCode(await app.gql(unlock, { id: user.userId }), 'UNAUTHENTICATED');
    const admin = await signUp(app);
    await grantAdmin(app, admin.userId);
    expectCode(await app.gql(unlock, { id: crypto.randomUUID() }, { token: admin.accessToken }), 'NOT_FOUND');
    expect(expectOk(await app.gql(unlock, { id: user.userId }, { token: admin.accessToken })).unlockUser).toBe(true);
    expectOk(await login(app, user.email));
    const audit = await auditRows(app, { userId: user.userId, action: 'admin.user_updated' });
    expect(audit[0]).toMatchObject({ actorId: admin.userId, metadata: { unlocked: true } });
  });
});

describe.each(backends())('per-IP limits (%s)', (backend) => {
  const app = useTestApp(backend, { env: { RATE_LIMITS: 'login.ip=3/1m,register.ip=2/5m' } });

  it('counts logins per IP across accounts and says when to retry', async () => {
    for (let i = 0; i < 3; i++) expectCode(await login(app, uniqueEmail(), WRONG), 'INVALID_CREDENTIALS');
    const before = app.hasher.calls.verify;
    const limited = await login(app, uniqueEmail(), WRONG);
    expectCode(limited, 'RATE_LIMITED');
    expect(app.hasher.calls.verify).toBe(before);
    const retryAfter = limited.errors![0]!.extensions.retryAfter;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const rows = (await auditRows(app, { action: 'rate_limit.exceeded' })).filter((r) => r.metadata?.limit === 'login.ip');
    expect(rows).toHaveLength(1);
  });

  it('counts each aliased login of one request: of 30 right-password aliases, 3 run', async () => {
    const fresh = await createTestApp(await createShared(backend), { env: { RATE_LIMITS: 'login.ip=3/1m', GRAPHQL_MAX_ALIASES: '50' } });
    try {
      const user = await signUp(fresh);
      const before = fresh.hasher.calls.verify;
      const result = await fresh.gql(`mutation($email: String!, $password: String!) { ${aliases(30)} }`, { email: user.email, password: PASSWORD });
      expect(fresh.hasher.calls.verify - before).toBe(3);
      expect(result.errors?.map((e) => e.extensions.code)).toEqual(['RATE_LIMITED']);
      expect(result.errors?.[0]?.path).toEqual(['a3']);
    } finally {
      await fresh.close();
    }
  });

  it('limits registrations per IP', async () => {
    expectOk(await register(app));
    expectOk(await register(app));
    expectCode(await register(app), 'RATE_LIMITED');
  });
});

describe.runIf(backends().includes('real'))('lockout across instances (real)', () => {
  let a: TestApp;
  let b: TestApp;
  useInstances((first, second) => ([a, b] = [first, second]));

  it('shares one failure streak between instances: 50 concurrent attempts split across two evaluate 10', async () => {
    const user = await signUp(a);
    const before = a.hasher.calls.verify + b.hasher.calls.verify;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => login(i % 2 ? a : b, user.email, WRONG)));
    expect(a.hasher.calls.verify + b.hasher.calls.verify - before).toBe(10);
    expect(results.filter((r) => codeOf(r) === 'RATE_LIMITED')).toHaveLength(40);
  });
});
