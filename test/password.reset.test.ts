import { describe, expect, it } from 'vitest';
import { backends, type Backend, useFixture } from './support/app.js';
import { auditRows, codeOf, expectCode, expectOk, login, me, PASSWORD, refresh, signIn, signUp, uniqueEmail } from './support/actions.js';
import { grantAdmin } from './support/audit.js';
import { MANY_PER_RECIPIENT, onlyLinkTo, race, rateLimits, startMessaging } from './support/messages.js';

const NEW_PASSWORD = 'a brand new passphrase 2024';
const HOUR = 3_600_000;

async function setup(backend: Backend, env: Record<string, string> = {}) {
  const m = await startMessaging(backend, env);
  const { app } = m;
  const requestReset = (email: string) => app.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: email });
  return {
    ...m,
    requestReset,
    resetPassword: (token: string, newPassword = NEW_PASSWORD) =>
      app.gql(`mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`, { t: token, p: newPassword }),
    /** Requests a reset for the address and returns the token of the one mail it sent. */
    async resetToken(email: string) {
      expect(expectOk(await requestReset(email)).requestPasswordReset).toBe(true);
      return onlyLinkTo(m, email, 'reset-password');
    },
  };
}

describe.each(backends())('password reset (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('mails a reset-password link; the reset sets the new password, returns no tokens, and is audited', async () => {
    const user = await signUp(t.app);
    const token = await t.resetToken(user.email);
    const reset = await t.resetPassword(token);
    expect(expectOk(reset)).toEqual({ resetPassword: true });
    expect(reset.headers.get('set-cookie')).toBeNull();

    expectCode(await login(t.app, user.email, PASSWORD), 'INVALID_CREDENTIALS');
    expect(expectOk(await login(t.app, user.email, NEW_PASSWORD)).login.user.id).toBe(user.userId);
    const rows = await auditRows(t.app, { userId: user.userId });
    expect(rows.map((r) => r.action).filter((a) => a.startsWith('password.'))).toEqual(['password.reset_requested', 'password.reset']);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(JSON.stringify(rows)).not.toContain(NEW_PASSWORD);
  });

  it('a refused send is retried: the link arrives once and works, and the log holds neither the address nor the token', async () => {
    const user = await signUp(t.app);
    t.mail.failNext(2);
    const token = await t.resetToken(user.email);
    expectOk(await t.resetPassword(token));
    const retries = t.app.logs.filter((line) => line.includes('delivery failed'));
    expect(retries).toHaveLength(2);
    for (const line of retries) {
      expect(line).not.toContain(user.email);
      expect(line).not.toContain(token);
    }
  });

  it('an account an admin creates without a password is mailed a set-password link (24 hours) that works', async () => {
    const admin = await signUp(t.app);
    await grantAdmin(t.app, admin.userId);
    const email = uniqueEmail('invited');
    const created = expectOk(
      await t.app.gql(`mutation($e: String!) { createUser(input: { email: $e }) { id } }`, { e: email }, { token: admin.accessToken }),
    ).createUser;
    const [mail] = await t.mailsTo(email);
    expect(mail!.subject).toMatch(/set your password/i);
    expect(mail!.text).toContain('24 hours');
    const token = await onlyLinkTo(t, email, 'reset-password');
    expectOk(await t.resetPassword(token));
    expect(expectOk(await login(t.app, email, NEW_PASSWORD)).login.user.id).toBe(created.id);
    // Created with a password: nothing is mailed.
    const withPassword = uniqueEmail('invited');
    expectOk(
      await t.app.gql(
        `mutation($e: String!, $p: String!) { createUser(input: { email: $e, password: $p }) { id } }`,
        { e: withPassword, p: NEW_PASSWORD },
        { token: admin.accessToken },
      ),
    );
    expect(await t.mailsTo(withPassword)).toEqual([]);
  });

  it('answers an unknown email exactly as a known one, and sends it nothing', async () => {
    const known = await signUp(t.app);
    const unknown = uniqueEmail('nobody');
    const forKnown = await t.requestReset(known.email);
    const forUnknown = await t.requestReset(unknown);
    expect({ data: forUnknown.data, errors: forUnknown.errors }).toEqual({ data: forKnown.data, errors: forKnown.errors });
    expect(forUnknown.errors).toBeUndefined();
    expect(await t.mailsTo(unknown)).toEqual([]);
    expect(await t.mailsTo(known.email)).toHaveLength(1);
  });

  it('sends nothing to a disabled account, and answers as for any other', async () => {
    const admin = await signUp(t.app);
    await grantAdmin(t.app, admin.userId);
    const user = await signUp(t.app);
    const disable = `mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { disabled } }`;
    expect(expectOk(await t.app.gql(disable, { id: user.userId }, { token: admin.accessToken })).updateUser.disabled).toBe(true);
    expect(expectOk(await t.requestReset(user.email))).toEqual({ requestPasswordReset: true });
    expect(await t.mailsTo(user.email)).toEqual([]);
  });

  it('signs out every session of the user, and only theirs', async () => {
    const user = await signUp(t.app);
    const sessions = [user, await signIn(t.app, user.email), await signIn(t.app, user.email)];
    const bystander = await signUp(t.app);
    for (const s of sessions) expectOk(await me(t.app, s.accessToken));
    expectOk(await t.resetPassword(await t.resetToken(user.email)));

    for (const s of sessions) {
      expectCode(await me(t.app, s.accessToken), 'UNAUTHENTICATED');
      expectCode(await refresh(t.app, s.refreshToken), 'INVALID_TOKEN');
    }
    expectOk(await me(t.app, bystander.accessToken));
    expectOk(await refresh(t.app, bystander.refreshToken));
  });

  it('a token works once: the second use is INVALID_TOKEN and the password stays the first one set', async () => {
    const user = await signUp(t.app);
    const token = await t.resetToken(user.email);
    expectOk(await t.resetPassword(token));
    expectCode(await t.resetPassword(token, 'yet another passphrase 99'), 'INVALID_TOKEN');
    expectCode(await login(t.app, user.email, 'yet another passphrase 99'), 'INVALID_CREDENTIALS');
    expectOk(await login(t.app, user.email, NEW_PASSWORD));
  });

  it('a made-up token is INVALID_TOKEN', async () => {
    expectCode(await t.resetPassword('A'.repeat(43)), 'INVALID_TOKEN');
    expectCode(await t.resetPassword('not a token'), 'INVALID_TOKEN');
  });

  it('a token expires after one hour', async () => {
    const early = await signUp(t.app);
    const late = await signUp(t.app);
    const earlyToken = await t.resetToken(early.email);
    const lateToken = await t.resetToken(late.email);
    t.app.clock.advance(HOUR - 1_000);
    expect(expectOk(await t.resetPassword(earlyToken)).resetPassword).toBe(true);
    t.app.clock.advance(2_000);
    expectCode(await t.resetPassword(lateToken), 'INVALID_TOKEN');
    expectOk(await login(t.app, late.email, PASSWORD));
  });

  it('a weak new password is WEAK_PASSWORD and does not use the token up', async () => {
    const user = await signUp(t.app);
    const token = await t.resetToken(user.email);
    expectCode(await t.resetPassword(token, 'short'), 'WEAK_PASSWORD');
    expectCode(await t.resetPassword(token, user.email), 'WEAK_PASSWORD');
    expectOk(await login(t.app, user.email, PASSWORD));
    expect(expectOk(await t.resetPassword(token)).resetPassword).toBe(true);
    expectOk(await login(t.app, user.email, NEW_PASSWORD));
  });

  it('twenty concurrent resets with one token: exactly one true', async () => {
    const user = await signUp(t.app);
    const token = await t.resetToken(user.email);
    const { ok, codes } = await race(20, () => t.resetPassword(token));
    expect(ok.map((r) => r.data?.resetPassword)).toEqual([true]);
    expect(codes).toEqual(Array(19).fill('INVALID_TOKEN'));
    expect(await auditRows(t.app, { userId: user.userId, action: 'password.reset' })).toHaveLength(1);
  });

  it('a second request for one recipient within 60 s is RATE_LIMITED, for unknown and known emails alike', async () => {
    const unknown = uniqueEmail('nobody');
    expectOk(await t.requestReset(unknown));
    const unknownLimited = await t.requestReset(unknown);
    expectCode(unknownLimited, 'RATE_LIMITED');

    const known = await signUp(t.app);
    expectOk(await t.requestReset(known.email));
    const knownLimited = await t.requestReset(known.email);
    expectCode(knownLimited, 'RATE_LIMITED');
    for (const limited of [unknownLimited, knownLimited]) expect(limited.errors![0]!.extensions.retryAfter).toBeGreaterThan(0);
    expect(await t.mailsTo(known.email)).toHaveLength(1);
  });

  it('a malformed email is BAD_USER_INPUT', async () => {
    for (const email of ['not-an-email', '', 'two@@example.com']) expectCode(await t.requestReset(email), 'BAD_USER_INPUT');
  });
});

describe.each(backends())('password reset and the login lock (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend, { LOGIN_DELAY_AFTER: '3', LOGIN_LOCK_AFTER: '5', RATE_LIMITS: rateLimits(MANY_PER_RECIPIENT) }),
    (fixture) => fixture.close(),
  );

  it('a reset ends a hard lock: the new password signs in', async () => {
    const user = await signUp(t.app);
    const before = t.app.hasher.calls.verify;
    // Past every delay between attempts, so each wrong password is counted until the lock.
    for (let i = 0; i < 5; i++) {
      expect(['INVALID_CREDENTIALS', 'RATE_LIMITED']).toContain(codeOf(await login(t.app, user.email, 'wrong password here')));
      t.app.clock.advance(16 * 60_000);
    }
    expect(t.app.hasher.calls.verify - before).toBe(5);
    const locked = await login(t.app, user.email, PASSWORD);
    expectCode(locked, 'RATE_LIMITED');
    expect(locked.errors![0]!.extensions.locked).toBe(true);

    expectOk(await t.resetPassword(await t.resetToken(user.email)));
    expect(expectOk(await login(t.app, user.email, NEW_PASSWORD)).login.user.id).toBe(user.userId);
  });
});

describe.each(backends())('password reset per-IP limit (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend, { RATE_LIMITS: rateLimits({ 'send.ip': '2/1m', ...MANY_PER_RECIPIENT }) }),
    (fixture) => fixture.close(),
  );

  it('the third request from one client is RATE_LIMITED, for known and unknown emails alike, and sends nothing', async () => {
    const known = await signUp(t.app);
    const another = await signUp(t.app);
    expectOk(await t.requestReset(known.email));
    expectOk(await t.requestReset(uniqueEmail('nobody')));

    const unknown = uniqueEmail('nobody');
    const limited = [await t.requestReset(another.email), await t.requestReset(unknown)];
    for (const result of limited) {
      expectCode(result, 'RATE_LIMITED');
      expect(result.errors![0]!.extensions.retryAfter).toBeGreaterThan(0);
      expect(result.errors![0]!.extensions.retryAfter).toBeLessThanOrEqual(60);
    }
    expect(await t.mailsTo(known.email)).toHaveLength(1);
    expect(await t.mailsTo(another.email)).toEqual([]);
  });
});
