import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpAt } from '../src/modules/mfa/totp.js';
import { backends, type Backend, useTestApp } from './support/app.js';
import { AUTH_FIELDS, auditRows, codeOf, expectCode, expectOk, login, logout, me, PASSWORD, refresh, signIn, signUp } from './support/actions.js';
import { latestLinkTo, startMessaging } from './support/messages.js';
import {
  codeMails,
  enrollEmail,
  loginPending,
  MFA_RATE_LIMITS,
  nextTotp,
  PENDING_TTL_MS,
  STEP_MS,
  sendMfaCode,
  SET_DEFAULT,
  signUpWithTotp,
  enrollTotp,
  totpNow,
  verify2fa,
  VERIFY,
  wrongTotp,
} from './support/mfa.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';
const SESSIONS = `{ mySessions { id current mfaVerified } }`;

describe.each(backends())('MFA login with TOTP (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });

  /** A GraphQL POST through app.fetch that also returns the Set-Cookie headers. */
  async function send(query: string, variables: Record<string, unknown>, token?: string) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await app.fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { data?: any; errors?: any };
    return { body, setCookie: response.headers.getSetCookie() };
  }

  it('login answers a pending login: mfaRequired, no refresh token, the methods, and a token for the mfa-pending audience', async () => {
    const user = await signUpWithTotp(app);
    const auth = await loginPending(app, user.email);
    expect(auth).toMatchObject({ mfaRequired: true, refreshToken: null, refreshTokenExpiresAt: null, defaultMfaMethod: 'TOTP', user: { id: user.userId } });
    expect(auth.mfaMethods).toEqual(expect.arrayContaining(['TOTP', 'RECOVERY_CODE']));
    expect(auth.mfaMethods).toHaveLength(2);
    const claims = decodeJwt(auth.accessToken);
    expect(claims.aud).toBe('http://gateway.test/mfa-pending');
    expect(claims.sub).toBe(user.userId);
    // A pending login lives 5 minutes, not the 15 of an access token.
    expect((claims.exp! - claims.iat!) * 1000).toBeLessThanOrEqual(PENDING_TTL_MS);
    expect(await auditRows(app, { userId: user.userId, action: 'user.login' })).toHaveLength(0);
  });

  it('a pending token is MFA_REQUIRED for me, mySessions and updateProfile', async () => {
    const user = await signUpWithTotp(app);
    const { accessToken } = await loginPending(app, user.email);
    expectCode(await me(app, accessToken), 'MFA_REQUIRED');
    expectCode(await app.gql(SESSIONS, {}, { token: accessToken }), 'MFA_REQUIRED');
    const update = await app.gql(`mutation { updateProfile(input: { name: "Mallory" }) { name } }`, {}, { token: accessToken });
    expectCode(update, 'MFA_REQUIRED');
    expect(expectOk(await me(app, user.accessToken)).me.name).toBeNull();
  });

  it('an admin with MFA holding a pending token is MFA_REQUIRED for users (admin fields); the full token after verify2fa reads them', async () => {
    const admin = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
    expectOk(await app.gql(`{ users { totalCount } }`, {}, { token: admin.accessToken }));
    const { secret } = await enrollTotp(app, admin.accessToken);
    const pending = await loginPending(app, ADMIN_EMAIL, ADMIN_PASSWORD);
    expectCode(await app.gql(`{ users { totalCount } }`, {}, { token: pending.accessToken }), 'MFA_REQUIRED');
    const full = expectOk(await verify2fa(app, pending.accessToken, 'TOTP', totpNow(app, secret))).verify2fa;
    expect(expectOk(await app.gql(`{ users { totalCount } }`, {}, { token: full.accessToken })).users.totalCount).toBeGreaterThanOrEqual(1);
  });

  it('verify2fa(TOTP) returns full tokens naming both factors; the session is mfaVerified; audited', async () => {
    const user = await signUpWithTotp(app);
    const pending = await loginPending(app, user.email);
    const auth = expectOk(await verify2fa(app, pending.accessToken, 'TOTP', totpNow(app, user.secret))).verify2fa;
    expect(auth).toMatchObject({ mfaRequired: false, user: { id: user.userId } });
    expect(auth.refreshToken).toEqual(expect.any(String));
    expect(auth.accessToken).not.toBe(pending.accessToken);
    expect(expectOk(await me(app, auth.accessToken)).me.id).toBe(user.userId);
    const claims = decodeJwt(auth.accessToken);
    expect(claims.aud).toBe('http://gateway.test');
    expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
    expect(decodeJwt(user.accessToken).amr).not.toContain('mfa');
    // The refresh token works, and the refreshed access token still carries the second factor.
    const refreshed = expectOk(await refresh(app, auth.refreshToken)).refreshToken;
    expect(decodeJwt(refreshed.accessToken).amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));

    const sessions = expectOk(await app.gql(SESSIONS, {}, { token: refreshed.accessToken })).mySessions as Array<{ current: boolean; mfaVerified: boolean }>;
    expect(sessions).toHaveLength(2);
    expect(sessions.find((s) => s.current)).toMatchObject({ mfaVerified: true });
    // The session of the sign-up, from before MFA, did not pass a second factor.
    expect(sessions.find((s) => !s.current)).toMatchObject({ mfaVerified: false });

    const challenge = await auditRows(app, { userId: user.userId, action: 'mfa.challenge_succeeded' });
    expect(challenge).toHaveLength(1);
    expect(challenge[0]).toMatchObject({ outcome: 'SUCCESS', metadata: { method: 'TOTP' } });
    const logins = await auditRows(app, { userId: user.userId, action: 'user.login' });
    expect(logins).toHaveLength(1);
    expect(logins[0]).toMatchObject({ outcome: 'SUCCESS', metadata: { method: 'password', mfa: 'TOTP' } });
  });

  it('a pending token works once: after verify2fa it is UNAUTHENTICATED', async () => {
    const user = await signUpWithTotp(app);
    const pending = await loginPending(app, user.email);
    expectOk(await verify2fa(app, pending.accessToken, 'TOTP', totpNow(app, user.secret)));
    expectCode(await verify2fa(app, pending.accessToken, 'TOTP', nextTotp(app, user.secret)), 'UNAUTHENTICATED');
  });

  it('replay: the code one login used is INVALID_CODE on a second login', async () => {
    const user = await signUpWithTotp(app);
    const first = await loginPending(app, user.email);
    const second = await loginPending(app, user.email);
    const code = totpNow(app, user.secret);
    expectOk(await verify2fa(app, first.accessToken, 'TOTP', code));
    expectCode(await verify2fa(app, second.accessToken, 'TOTP', code), 'INVALID_CODE');
    // The second login is still open, and the next step's code finishes it.
    expectOk(await verify2fa(app, second.accessToken, 'TOTP', nextTotp(app, user.secret)));
  });

  it('accepts the code of the step before (clock drift), refuses one two steps old, and refuses a step older than the last one used', async () => {
    const user = await signUpWithTotp(app);
    app.clock.advance(2 * STEP_MS);
    const previous = totpAt(user.secret, app.clock.now() - STEP_MS);
    const first = await loginPending(app, user.email);
    expectOk(await verify2fa(app, first.accessToken, 'TOTP', previous));

    app.clock.advance(3 * STEP_MS);
    const second = await loginPending(app, user.email);
    const twoStepsOld = totpAt(user.secret, app.clock.now() - 2 * STEP_MS);
    if (twoStepsOld !== totpNow(app, user.secret) && twoStepsOld !== totpAt(user.secret, app.clock.now() - STEP_MS)) {
      expectCode(await verify2fa(app, second.accessToken, 'TOTP', twoStepsOld), 'INVALID_CODE');
    }
    expectOk(await verify2fa(app, second.accessToken, 'TOTP', totpNow(app, user.secret)));
    // The step before is still in the window, but older than the step just used.
    const third = await loginPending(app, user.email);
    const older = totpAt(user.secret, app.clock.now() - STEP_MS);
    if (older !== totpNow(app, user.secret)) expectCode(await verify2fa(app, third.accessToken, 'TOTP', older), 'INVALID_CODE');
  });

  it('two concurrent logins verifying the same fresh code: exactly one gets tokens', async () => {
    const user = await signUpWithTotp(app);
    const logins = await Promise.all([loginPending(app, user.email), loginPending(app, user.email)]);
    const code = totpNow(app, user.secret);
    const results = await Promise.all(logins.map((l) => verify2fa(app, l.accessToken, 'TOTP', code)));
    expect(results.filter((r) => r.errors === undefined)).toHaveLength(1);
    expect(results.map(codeOf).filter((c) => c !== null)).toEqual(['INVALID_CODE']);
    expect(await auditRows(app, { userId: user.userId, action: 'user.login' })).toHaveLength(1);
  });

  it('five wrong codes are each INVALID_CODE and void the pending token: the right code is then UNAUTHENTICATED', async () => {
    const user = await signUpWithTotp(app);
    const pending = await loginPending(app, user.email);
    for (let i = 0; i < 5; i++) expectCode(await verify2fa(app, pending.accessToken, 'TOTP', wrongTotp(app, user.secret)), 'INVALID_CODE');
    expectCode(await verify2fa(app, pending.accessToken, 'TOTP', totpNow(app, user.secret)), 'UNAUTHENTICATED');
    const failed = await auditRows(app, { userId: user.userId, action: 'mfa.challenge_failed' });
    expect(failed).toHaveLength(5);
    for (const row of failed) expect(row).toMatchObject({ outcome: 'FAILURE', metadata: { method: 'TOTP' } });
    expect(await auditRows(app, { userId: user.userId, action: 'user.login' })).toHaveLength(0);
    // The code was not spent by the voided login: a new login accepts it.
    const again = await loginPending(app, user.email);
    expectOk(await verify2fa(app, again.accessToken, 'TOTP', totpNow(app, user.secret)));
  });

  it('four wrong codes leave the pending token usable', async () => {
    const user = await signUpWithTotp(app);
    const pending = await loginPending(app, user.email);
    for (let i = 0; i < 4; i++) expectCode(await verify2fa(app, pending.accessToken, 'TOTP', wrongTotp(app, user.secret)), 'INVALID_CODE');
    expectOk(await verify2fa(app, pending.accessToken, 'TOTP', totpNow(app, user.secret)));
  });

  it('logout with the pending token answers true and voids it', async () => {
    const user = await signUpWithTotp(app);
    const pending = await loginPending(app, user.email);
    expect(expectOk(await logout(app, pending.accessToken)).logout).toBe(true);
    expectCode(await verify2fa(app, pending.accessToken, 'TOTP', totpNow(app, user.secret)), 'UNAUTHENTICATED');
    // The user's other sessions are untouched.
    expectOk(await me(app, user.accessToken));
  });

  it('a pending token expires after 5 minutes', async () => {
    const user = await signUpWithTotp(app);
    const early = await loginPending(app, user.email);
    const late = await loginPending(app, user.email);
    app.clock.advance(PENDING_TTL_MS - 1_000);
    expectOk(await verify2fa(app, early.accessToken, 'TOTP', totpNow(app, user.secret)));
    app.clock.advance(2_000);
    expectCode(await verify2fa(app, late.accessToken, 'TOTP', nextTotp(app, user.secret)), 'UNAUTHENTICATED');
  });

  it('a recovery code completes a login once, lower-case and without dashes too; audited mfa.recovery_code_used', async () => {
    const user = await signUpWithTotp(app);
    const [plain, typed] = user.recoveryCodes;
    const first = await loginPending(app, user.email);
    const auth = expectOk(await verify2fa(app, first.accessToken, 'RECOVERY_CODE', plain!.toLowerCase().replace(/-/g, ''))).verify2fa;
    expect(auth).toMatchObject({ mfaRequired: false });
    expect(decodeJwt(auth.accessToken).amr).toEqual(expect.arrayContaining(['pwd', 'mfa']));
    expectOk(await me(app, auth.accessToken));
    const used = await auditRows(app, { userId: user.userId, action: 'mfa.recovery_code_used' });
    expect(used).toHaveLength(1);
    expect(used[0]).toMatchObject({ metadata: { remaining: 9 } });
    expect(JSON.stringify(used)).not.toContain(plain!.replace(/-/g, ''));
    expect((await auditRows(app, { userId: user.userId, action: 'user.login' }))[0]).toMatchObject({ metadata: { method: 'password', mfa: 'RECOVERY_CODE' } });

    const second = await loginPending(app, user.email);
    expectCode(await verify2fa(app, second.accessToken, 'RECOVERY_CODE', plain!), 'INVALID_CODE');
    expectOk(await verify2fa(app, second.accessToken, 'RECOVERY_CODE', ` ${typed!.toLowerCase()} `));
  });

  it('two concurrent logins sending the same recovery code: exactly one gets tokens', async () => {
    const user = await signUpWithTotp(app);
    const logins = await Promise.all([loginPending(app, user.email), loginPending(app, user.email)]);
    const results = await Promise.all(logins.map((l) => verify2fa(app, l.accessToken, 'RECOVERY_CODE', user.recoveryCodes[0]!)));
    expect(results.filter((r) => r.errors === undefined)).toHaveLength(1);
    expect(results.map(codeOf).filter((c) => c !== null)).toEqual(['INVALID_CODE']);
    expect(await auditRows(app, { userId: user.userId, action: 'mfa.recovery_code_used' })).toHaveLength(1);
  });

  it('a made-up recovery code, or a TOTP code sent as RECOVERY_CODE, is INVALID_CODE', async () => {
    const user = await signUpWithTotp(app);
    const pending = await loginPending(app, user.email);
    expectCode(await verify2fa(app, pending.accessToken, 'RECOVERY_CODE', 'ABCD-EFGH-JKMN'), 'INVALID_CODE');
    expectCode(await verify2fa(app, pending.accessToken, 'RECOVERY_CODE', totpNow(app, user.secret)), 'INVALID_CODE');
    // A method the user has not enabled cannot finish the login either.
    expectCode(await verify2fa(app, pending.accessToken, 'SMS', '123456'), 'INVALID_CODE');
    expectOk(await verify2fa(app, pending.accessToken, 'TOTP', totpNow(app, user.secret)));
  });

  it('verify2fa with setCookie sets the token cookies; login with setCookie for an MFA user sets none', async () => {
    const user = await signUpWithTotp(app);
    const loggedIn = await send(`mutation($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email: user.email, password: PASSWORD, setCookie: true },
    });
    expect(loggedIn.body.errors).toBeUndefined();
    expect(loggedIn.body.data.login.mfaRequired).toBe(true);
    expect(loggedIn.setCookie).toEqual([]);

    const verified = await send(VERIFY, { input: { method: 'TOTP', code: totpNow(app, user.secret), setCookie: true } }, loggedIn.body.data.login.accessToken);
    expect(verified.body.errors).toBeUndefined();
    const auth = verified.body.data.verify2fa;
    const cookies = Object.fromEntries(verified.setCookie.map((line) => [line.slice(0, line.indexOf('=')), line]));
    expect(Object.keys(cookies).sort()).toEqual(['access_token', 'refresh_token']);
    expect(cookies.access_token).toContain(`access_token=${auth.accessToken};`);
    expect(cookies.refresh_token).toContain(`refresh_token=${encodeURIComponent(auth.refreshToken)}`);
    for (const line of verified.setCookie) expect(line).toMatch(/HttpOnly/i);
  });

  it('verify2fa without setCookie sets no cookies', async () => {
    const user = await signUpWithTotp(app);
    const pending = await loginPending(app, user.email);
    const verified = await send(VERIFY, { input: { method: 'TOTP', code: totpNow(app, user.secret) } }, pending.accessToken);
    expect(verified.body.errors).toBeUndefined();
    expect(verified.setCookie).toEqual([]);
  });

  it('a full token cannot call verify2fa (FORBIDDEN), nor can no token (UNAUTHENTICATED)', async () => {
    const user = await signUpWithTotp(app);
    const code = totpNow(app, user.secret);
    expectCode(await verify2fa(app, user.accessToken, 'TOTP', code), 'FORBIDDEN');
    expectCode(await app.gql(VERIFY, { input: { method: 'TOTP', code } }), 'UNAUTHENTICATED');
    // Neither attempt spent the code.
    const pending = await loginPending(app, user.email);
    expectOk(await verify2fa(app, pending.accessToken, 'TOTP', code));
  });
});

async function setupMessaging(backend: Backend) {
  const m = await startMessaging(backend, { RATE_LIMITS: MFA_RATE_LIMITS });
  const { app } = m;
  return {
    ...m,
    requestLink: (email: string) => app.gql(`mutation($e: String!) { requestMagicLink(email: $e) }`, { e: email }),
    loginWithLink: (token: string) => app.gql(`mutation($t: String!) { loginWithMagicLink(token: $t) { ${AUTH_FIELDS} } }`, { t: token }),
    requestReset: (email: string) => app.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: email }),
    resetPassword: (token: string, newPassword: string) =>
      app.gql(`mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`, { t: token, p: newPassword }),
  };
}

describe.each(backends())('MFA after other first factors (%s)', (backend) => {
  let t: Awaited<ReturnType<typeof setupMessaging>>;
  beforeAll(async () => {
    t = await setupMessaging(backend);
  });
  afterAll(() => t?.close());

  it('a magic link for a user with TOTP and EMAIL asks for the second factor, but not by email', async () => {
    const user = await signUpWithTotp(t.app);
    expect((await enrollEmail(t, user)).user.mfaMethods).toEqual(['TOTP', 'EMAIL', 'RECOVERY_CODE']);
    // Even as the preferred factor, EMAIL cannot follow a mailed link.
    expect(expectOk(await t.app.gql(SET_DEFAULT, { m: 'EMAIL' }, { token: user.accessToken })).setDefaultMfaMethod.defaultMfaMethod).toBe('EMAIL');
    const codeMailsBefore = codeMails(await t.mailsTo(user.email)).length;

    expect(expectOk(await t.requestLink(user.email)).requestMagicLink).toBe(true);
    const auth = expectOk(await t.loginWithLink(await latestLinkTo(t, user.email, 'magic-link'))).loginWithMagicLink;
    expect(auth).toMatchObject({ mfaRequired: true, refreshToken: null, defaultMfaMethod: 'TOTP' });
    expect(auth.mfaMethods).toEqual(expect.arrayContaining(['TOTP', 'RECOVERY_CODE']));
    expect(auth.mfaMethods).not.toContain('EMAIL');
    expect(decodeJwt(auth.accessToken).aud).toBe('http://gateway.test/mfa-pending');
    expectCode(await me(t.app, auth.accessToken), 'MFA_REQUIRED');
    // No code was mailed, none can be asked for, and EMAIL cannot finish this login.
    expect(codeMails(await t.mailsTo(user.email))).toHaveLength(codeMailsBefore);
    expectCode(await sendMfaCode(t.app, auth.accessToken, 'EMAIL'), 'BAD_USER_INPUT');
    expect(codeMails(await t.mailsTo(user.email))).toHaveLength(codeMailsBefore);
    expectCode(await verify2fa(t.app, auth.accessToken, 'EMAIL', '123456'), 'INVALID_CODE');

    const full = expectOk(await verify2fa(t.app, auth.accessToken, 'TOTP', totpNow(t.app, user.secret))).verify2fa;
    expect(decodeJwt(full.accessToken).amr).toEqual(expect.arrayContaining(['email', 'otp', 'mfa']));
    const logins = await auditRows(t.app, { userId: user.userId, action: 'user.login' });
    expect(logins.at(-1)).toMatchObject({ metadata: { method: 'magic_link', mfa: 'TOTP' } });
  });

  it('a magic link for an EMAIL-only user can be finished only with a recovery code; no code is mailed', async () => {
    const user = await signUp(t.app);
    const { recoveryCodes } = await enrollEmail(t, user);
    const before = codeMails(await t.mailsTo(user.email)).length;
    expect(expectOk(await t.requestLink(user.email)).requestMagicLink).toBe(true);
    const auth = expectOk(await t.loginWithLink(await latestLinkTo(t, user.email, 'magic-link'))).loginWithMagicLink;
    expect(auth).toMatchObject({ mfaRequired: true, mfaMethods: ['RECOVERY_CODE'], defaultMfaMethod: 'RECOVERY_CODE' });
    expect(codeMails(await t.mailsTo(user.email))).toHaveLength(before);
    expectCode(await sendMfaCode(t.app, auth.accessToken, 'EMAIL'), 'BAD_USER_INPUT');
    expectOk(await verify2fa(t.app, auth.accessToken, 'RECOVERY_CODE', recoveryCodes[0]));
  });

  it('a password reset keeps MFA: login with the new password still asks for the second factor', async () => {
    const user = await signUpWithTotp(t.app);
    const newPassword = 'a brand new passphrase 2024';
    expect(expectOk(await t.requestReset(user.email)).requestPasswordReset).toBe(true);
    expect(expectOk(await t.resetPassword(await latestLinkTo(t, user.email, 'reset-password'), newPassword)).resetPassword).toBe(true);
    expectCode(await login(t.app, user.email, PASSWORD), 'INVALID_CREDENTIALS');
    const pending = await loginPending(t.app, user.email, newPassword);
    expect(pending.mfaMethods).toEqual(['TOTP', 'RECOVERY_CODE']);
    expectOk(await verify2fa(t.app, pending.accessToken, 'TOTP', totpNow(t.app, user.secret)));
  });
});
