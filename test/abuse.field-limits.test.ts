import { describe, expect, inject, it } from 'vitest';
import { countWindowCall } from '../src/shared/rate-limit.js';
import { createMemoryStore } from '../src/shared/store-memory.js';
import { createRedisStore } from '../src/shared/store-redis.js';
import { backends, useTestApp } from './support/app.js';
import { auditRows, codeOf, PASSWORD, signUp, uniqueEmail } from './support/actions.js';

const WRONG = 'definitely not the password';
const loginQuery = `mutation($input: LoginInput!) { login(input: $input) { accessToken } }`;
const aliased = (n: number) =>
  `mutation($email: String!, $password: String!) { ${Array.from({ length: n }, (_, i) => `a${i}: login(input: { email: $email, password: $password }) { accessToken }`).join(' ')} }`;

/**
 * The per-IP field limits (login.ip, register.ip, verify.ip) counted in sliding windows on the
 * atomic store. Each test sends from its own client address (TRUST_PROXY=true and
 * X-Forwarded-For), so the tests share one app but not a bucket.
 */
describe.each(backends())('field rate limits (%s)', (backend) => {
  const app = useTestApp(backend, { env: { TRUST_PROXY: 'true', RATE_LIMITS: 'login.ip=5/1m,register.ip=5/5m,verify.ip=5/1m' } });
  let ip = 0;
  const from = () => ({ 'x-forwarded-for': `198.51.100.${++ip}` });

  it('regression: of 30 concurrent logins with max 5, exactly 5 are evaluated; retryAfter set, one audit row', async () => {
    const headers = from();
    const before = app.hasher.calls.verify;
    const results = await Promise.all(Array.from({ length: 30 }, () => app.gql(loginQuery, { input: { email: uniqueEmail(), password: WRONG } }, { headers })));
    expect(app.hasher.calls.verify - before).toBe(5);
    expect(results.filter((r) => codeOf(r) === 'INVALID_CREDENTIALS')).toHaveLength(5);
    const limited = results.filter((r) => codeOf(r) === 'RATE_LIMITED');
    expect(limited).toHaveLength(25);
    for (const r of limited) expect(r.errors![0]!.extensions.retryAfter).toSatisfy((s: number) => s > 0 && s <= 60);
    const rows = (await auditRows(app, { action: 'rate_limit.exceeded' })).filter((r) => r.ip === headers['x-forwarded-for']);
    expect(rows.map((r) => r.metadata)).toEqual([{ limit: 'login.ip', max: 5, windowMs: 60_000 }]);
  });

  it('regression: aliases in 6 concurrent requests count one by one: exactly 5 of 30 sign in', async () => {
    const user = await signUp(app);
    const headers = from();
    const before = app.hasher.calls.verify;
    const results = await Promise.all(Array.from({ length: 6 }, () => app.gql(aliased(5), { email: user.email, password: PASSWORD }, { headers })));
    // A refused alias nulls its request's data (login is non-null), so count sign-ins by their audit rows.
    expect(await auditRows(app, { userId: user.userId, action: 'user.login' })).toHaveLength(5);
    expect(app.hasher.calls.verify - before).toBe(5);
    expect(results.flatMap((r) => r.errors ?? []).every((e) => e.extensions.code === 'RATE_LIMITED')).toBe(true);
  });

  it('regression: of 30 concurrent registrations with max 5, exactly 5 create an account (and hash a password)', async () => {
    const headers = from();
    const before = app.hasher.calls.hash;
    const results = await Promise.all(
      Array.from({ length: 30 }, () =>
        app.gql(
          `mutation($input: RegisterInput!) { register(input: $input) { user { id } } }`,
          { input: { email: uniqueEmail(), password: PASSWORD } },
          { headers },
        ),
      ),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(5);
    expect(results.filter((r) => codeOf(r) === 'RATE_LIMITED')).toHaveLength(25);
    expect(app.hasher.calls.hash - before).toBe(5);
  });

  it('shares verify.ip between fields, and lets calls through again once the window has slid by (injected clock)', async () => {
    const headers = from();
    const verify = () => app.gql(`mutation($t: String!) { verifyEmail(token: $t) }`, { t: 'not-a-token' }, { headers });
    const reset = () =>
      app.gql(
        `mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`,
        { t: 'not-a-token', p: 'a new long passphrase' },
        { headers },
      );
    for (let i = 0; i < 5; i++) expect(codeOf(await (i % 2 ? verify() : reset()))).toBe('INVALID_TOKEN');
    expect(codeOf(await verify())).toBe('RATE_LIMITED');
    expect(codeOf(await reset())).toBe('RATE_LIMITED');
    app.clock.advance(60_001);
    expect(codeOf(await verify())).toBe('INVALID_TOKEN');
  });
});

describe.each(backends())('countWindowCall on the store (%s)', (backend) => {
  it('of 30 concurrent calls with max 5 exactly 5 pass, the others with the time the window frees a slot; max 0 passes none', async () => {
    const store = backend === 'real' ? createRedisStore({ url: inject('redisUrl'), prefix: `rl-test:${Date.now()}:` }) : createMemoryStore();
    try {
      const now = Date.now();
      const limit = { max: 5, windowMs: 60_000 };
      const decisions = await Promise.all(Array.from({ length: 30 }, () => countWindowCall(store.windows, now, 'login', 'subject', limit)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
      expect(decisions.filter((d) => !d.allowed)).toEqual(Array.from({ length: 25 }, () => ({ allowed: false, retryAt: now + 60_000 })));
      expect(await countWindowCall(store.windows, now, 'login', 'other', { max: 0, windowMs: 60_000 })).toEqual({ allowed: false, retryAt: now + 60_000 });
      // A window slides by the time passed in: a minute on, the same subject passes again.
      expect(await countWindowCall(store.windows, now + 60_000, 'login', 'subject', limit)).toEqual({ allowed: true });
    } finally {
      await store.close();
    }
  });
});
