import { describe, expect, it } from 'vitest';
import { boundedHasher, createArgon2Hasher } from '../src/shared/password-hasher.js';
import { auditRows, codeOf, expectOk, login, PASSWORD, register, signUp, uniqueEmail } from './support/actions.js';
import { backends, createCountingHasher, createShared, createTestApp, useFixture } from './support/app.js';

/**
 * Load shedding of password hashing (README "Abuse protection"): with one hashing slot and room
 * for two waiting calls, a login, a registration or a re-authentication that would wait behind a
 * full queue is answered at once with RATE_LIMITED (busy, retryAfter 1), before anything is
 * checked or counted. Hashing is held by the test, not timed, so the queue is exactly full.
 */
describe.each(backends())('password hashing under overload (%s)', (backend) => {
  let held: Promise<void> | null = null;
  let release = () => {};
  const real = createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }, 1);
  const hasher = createCountingHasher(
    boundedHasher(
      {
        hash: (password) => real.hash(password),
        verify: async (hash, password) => {
          if (held) await held;
          return real.verify(hash, password);
        },
        needsRehash: (hash) => real.needsRehash(hash),
      },
      { concurrency: 1, maxWaiting: 2 },
    ),
  );
  const app = useFixture(
    async () => createTestApp(await createShared(backend), { hasher }),
    (a) => a.close(),
  );

  function hold() {
    held = new Promise<void>((resolve) => {
      release = () => {
        held = null;
        resolve();
      };
    });
  }

  it('a login behind a full hashing queue gets RATE_LIMITED (busy) at once; it is not checked, counted or audited, and the queued logins succeed', async () => {
    const user = await signUp(app);
    const before = hasher.calls.verify;
    hold();
    // One login hashing (held), two waiting: the queue is full.
    const queued = [login(app, user.email), login(app, user.email), login(app, user.email)];
    await expect.poll(() => hasher.calls.verify - before, { timeout: 5_000 }).toBe(3);
    const refused = await login(app, user.email, 'a wrong password, never checked');
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    expect(refused.errors![0]!.extensions).toMatchObject({ busy: true, retryAfter: 1 });
    expect(codeOf(await register(app, { email: uniqueEmail('busy') }))).toBe('RATE_LIMITED');
    expect(hasher.calls.verify - before).toBe(3);
    release();
    for (const result of await Promise.all(queued)) expect(expectOk(result).login.accessToken).toEqual(expect.any(String));
    const rows = await auditRows(app, { userId: user.userId });
    expect(rows.filter((r) => r.action === 'user.login')).toHaveLength(3); // the three queued
    expect(rows.filter((r) => r.action === 'user.login_failed' || r.action === 'rate_limit.exceeded')).toHaveLength(0);
    // Once the queue drains the same account signs in again.
    expect(expectOk(await login(app, user.email, PASSWORD)).login.accessToken).toEqual(expect.any(String));
  });

  it('changePassword behind a full hashing queue gets RATE_LIMITED (busy) and the password stays', async () => {
    const user = await signUp(app);
    const other = await signUp(app);
    hold();
    const before = hasher.calls.verify;
    const queued = [login(app, other.email), login(app, other.email), login(app, other.email)];
    await expect.poll(() => hasher.calls.verify - before, { timeout: 5_000 }).toBe(3);
    const change = await app.gql(
      'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }',
      { c: PASSWORD, n: 'a brand new passphrase here' },
      { token: user.accessToken },
    );
    expect(codeOf(change)).toBe('RATE_LIMITED');
    expect(change.errors![0]!.extensions).toMatchObject({ busy: true });
    release();
    await Promise.all(queued);
    expect(expectOk(await login(app, user.email, PASSWORD)).login.accessToken).toEqual(expect.any(String));
  });
});
