import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './support/app.js';
import { codeOf, expectCode, expectOk, me, PASSWORD, signUp } from './support/actions.js';
import { latestLinkTo, startMessaging, type Messaging, useMessaging } from './support/messages.js';
import {
  codeMails,
  confirmEnrollment,
  enrollEmail,
  latestMailCode,
  loginPending,
  MFA_RATE_LIMITS,
  nextTotp,
  signUpWithTotp,
  startEnrollment,
  totpNow,
  verify2fa,
} from './support/mfa.js';
import { codeFrom } from './support/sinks.js';

const CHANGE_PASSWORD = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`;

describe.each(backends())('a pending login ends with the sessions (%s)', (backend) => {
  const m = useMessaging(backend, { RATE_LIMITS: MFA_RATE_LIMITS });

  it('a password reset voids a pending login: its right code no longer signs in', async () => {
    const user = await signUpWithTotp(m.app);
    const pending = await loginPending(m.app, user.email);
    expectOk(await m.app.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: user.email }));
    const token = await latestLinkTo(m, user.email, 'reset-password');
    expectOk(
      await m.app.gql(`mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`, { t: token, p: 'an entirely new passphrase' }),
    );
    expectCode(await verify2fa(m.app, pending.accessToken, 'TOTP', nextTotp(m.app, user.secret)), 'UNAUTHENTICATED');
    // The new password starts a new two-step login that works.
    const fresh = await loginPending(m.app, user.email, 'an entirely new passphrase');
    expectOk(await verify2fa(m.app, fresh.accessToken, 'TOTP', nextTotp(m.app, user.secret)));
  });

  it('a password change in a full session voids pending logins of the account', async () => {
    const user = await signUpWithTotp(m.app);
    const pending = await loginPending(m.app, user.email);
    expectOk(await m.app.gql(CHANGE_PASSWORD, { c: PASSWORD, n: 'another fresh passphrase' }, { token: user.accessToken }));
    expectCode(await verify2fa(m.app, pending.accessToken, 'TOTP', nextTotp(m.app, user.secret)), 'UNAUTHENTICATED');
  });

  it('pending logins are not listed among the sessions', async () => {
    const user = await signUpWithTotp(m.app);
    await loginPending(m.app, user.email);
    const sessions = expectOk(await m.app.gql(`{ mySessions { id current } }`, {}, { token: user.accessToken })).mySessions;
    expect(sessions).toHaveLength(1);
    expect(sessions[0].current).toBe(true);
  });
});

describe.each(backends())('enrollment under concurrency and default limits (%s)', (backend) => {
  let m: Messaging;
  beforeAll(async () => {
    // Default recipient limits (1 a minute), high per-IP and per-account ones.
    m = await startMessaging(backend);
  });
  afterAll(() => m?.close());

  it('two first factors confirmed at once: exactly one answer carries recovery codes, and they work', async () => {
    const user = await signUp(m.app);
    const { secret } = expectOk(await startEnrollment(m.app, user.accessToken, 'TOTP')).startMfaEnrollment;
    expectOk(await startEnrollment(m.app, user.accessToken, 'EMAIL'));
    const mailed = codeFrom(codeMails(await m.mailsTo(user.email)).at(-1)!.text);
    const results = await Promise.all([
      confirmEnrollment(m.app, user.accessToken, 'TOTP', totpNow(m.app, secret)),
      confirmEnrollment(m.app, user.accessToken, 'EMAIL', mailed),
    ]);
    const payloads = results.map((r) => expectOk(r).confirmMfaEnrollment);
    const withCodes = payloads.filter((p) => p.recoveryCodes !== null);
    expect(withCodes).toHaveLength(1);
    const state = expectOk(await me(m.app, user.accessToken)).me;
    expect([...state.mfaMethods].sort()).toEqual(['EMAIL', 'RECOVERY_CODE', 'TOTP']);
    // Each code of the one set completes a login (two tried here), so no other set replaced it.
    for (const code of withCodes[0]!.recoveryCodes!.slice(0, 2)) {
      const pending = await loginPending(m.app, user.email);
      expectOk(await verify2fa(m.app, pending.accessToken, 'RECOVERY_CODE', code));
    }
  });

  it('a login right after EMAIL enrollment mails its code at once, despite the one-a-minute limit', async () => {
    const user = await signUp(m.app);
    await enrollEmail(m, user);
    const before = codeMails(await m.mailsTo(user.email)).length;
    const pending = await loginPending(m.app, user.email);
    expect(pending.defaultMfaMethod).toBe('EMAIL');
    expect(codeMails(await m.mailsTo(user.email))).toHaveLength(before + 1);
    expectOk(await verify2fa(m.app, pending.accessToken, 'EMAIL', await latestMailCode(m, user.email)));
    // Asking for another code within the minute is limited as any mail is.
    const again = await loginPending(m.app, user.email);
    expect(codeOf(await m.app.gql(`mutation { sendMfaCode(method: EMAIL) }`, {}, { token: again.accessToken }))).toBe('RATE_LIMITED');
  });
});
