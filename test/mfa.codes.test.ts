import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { backends, type Backend, useFixture } from './support/app.js';
import { auditRows, expectCode, expectOk, me, signIn, signUp } from './support/actions.js';
import { latestCodeTo, startMessaging, uniquePhone } from './support/messages.js';
import {
  codeMails,
  confirmEnrollment,
  enrollEmail,
  enrollTotp,
  latestMailCode,
  loginPending,
  MFA_RATE_LIMITS,
  mfaState,
  RECOVERY_CODE_SHAPE,
  sendMfaCode,
  startEnrollment,
  verify2fa,
} from './support/mfa.js';
import { codeFrom } from './support/sinks.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';

/** A 6-digit code that is not `code`. */
const otherThan = (code: string) => (code === '000000' ? '111111' : '000000');

async function setup(backend: Backend) {
  const m = await startMessaging(backend, { RATE_LIMITS: MFA_RATE_LIMITS, ADMIN_EMAIL, ADMIN_PASSWORD });
  const { app } = m;
  return {
    ...m,
    /** Signs a user up and enrolls SMS for a fresh number: the user and the number. */
    async smsUser() {
      const user = await signUp(app);
      const phone = uniquePhone();
      expectOk(await startEnrollment(app, user.accessToken, 'SMS', phone.typed));
      const confirmed = expectOk(await confirmEnrollment(app, user.accessToken, 'SMS', await latestCodeTo(m, phone.e164))).confirmMfaEnrollment;
      expect(confirmed.user.mfaMethods).toEqual(['SMS', 'RECOVERY_CODE']);
      return { ...user, phone };
    },
    /** Signs a user up and enrolls EMAIL. */
    async emailUser() {
      const user = await signUp(app);
      expect((await enrollEmail(m, user)).user.mfaMethods).toEqual(['EMAIL', 'RECOVERY_CODE']);
      return user;
    },
  };
}

describe.each(backends())('EMAIL factor (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('startMfaEnrollment(EMAIL) mails a 6-digit code; a wrong code is INVALID_CODE; the right one turns MFA on with recovery codes', async () => {
    const user = await signUp(t.app);
    const enrollment = expectOk(await startEnrollment(t.app, user.accessToken, 'EMAIL')).startMfaEnrollment;
    expect(enrollment).toEqual({ method: 'EMAIL', secret: null, otpauthUrl: null, qrCode: null });
    const mails = codeMails(await t.mailsTo(user.email));
    expect(mails).toHaveLength(1);
    const code = codeFrom(mails[0]!.text);
    expect(mails[0]!.subject).toContain(code);
    expect(expectOk(await mfaState(t.app, user.accessToken)).me.mfaEnabled).toBe(false);

    expectCode(await confirmEnrollment(t.app, user.accessToken, 'EMAIL', otherThan(code)), 'INVALID_CODE');
    expect(expectOk(await mfaState(t.app, user.accessToken)).me.mfaEnabled).toBe(false);
    const confirmed = expectOk(await confirmEnrollment(t.app, user.accessToken, 'EMAIL', code)).confirmMfaEnrollment;
    expect(confirmed.recoveryCodes).toHaveLength(10);
    expect(new Set(confirmed.recoveryCodes).size).toBe(10);
    for (const c of confirmed.recoveryCodes) expect(c).toMatch(RECOVERY_CODE_SHAPE);
    expect(confirmed.user).toMatchObject({ mfaEnabled: true, mfaMethods: ['EMAIL', 'RECOVERY_CODE'], defaultMfaMethod: 'EMAIL', emailVerified: true });
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.enabled' })).toMatchObject([{ metadata: { method: 'EMAIL', first: true } }]);
    // Confirming again is refused: EMAIL is enabled already.
    expectCode(await confirmEnrollment(t.app, user.accessToken, 'EMAIL', code), 'BAD_USER_INPUT');
  });

  it('login mails a code at once; a wrong code is INVALID_CODE; the right one returns tokens with amr email and mfa', async () => {
    const user = await t.emailUser();
    const before = codeMails(await t.mailsTo(user.email)).length;
    const pending = await loginPending(t.app, user.email);
    expect(pending).toMatchObject({ defaultMfaMethod: 'EMAIL', mfaMethods: ['EMAIL', 'RECOVERY_CODE'] });
    const mails = codeMails(await t.mailsTo(user.email));
    expect(mails).toHaveLength(before + 1);
    const code = codeFrom(mails.at(-1)!.text);

    expectCode(await verify2fa(t.app, pending.accessToken, 'EMAIL', otherThan(code)), 'INVALID_CODE');
    const auth = expectOk(await verify2fa(t.app, pending.accessToken, 'EMAIL', code)).verify2fa;
    expect(auth).toMatchObject({ mfaRequired: false, user: { id: user.userId } });
    expect(auth.refreshToken).toEqual(expect.any(String));
    expect(decodeJwt(auth.accessToken).amr).toEqual(expect.arrayContaining(['pwd', 'email', 'mfa']));
    expectOk(await me(t.app, auth.accessToken));
    expect((await auditRows(t.app, { userId: user.userId, action: 'user.login' })).at(-1)).toMatchObject({ metadata: { method: 'password', mfa: 'EMAIL' } });
    expect(JSON.stringify(await auditRows(t.app, { userId: user.userId }))).not.toContain(code);
    // Bounded by non-digits: a log line's timestamps are long runs of digits.
    expect(t.app.logs.join('\n')).not.toMatch(new RegExp(`(?<!\\d)${code}(?!\\d)`));
  });

  it('a mailed code finishes only the login it was sent for', async () => {
    const user = await t.emailUser();
    const first = await loginPending(t.app, user.email);
    const firstCode = await latestMailCode(t, user.email);
    const second = await loginPending(t.app, user.email);
    const secondCode = await latestMailCode(t, user.email);
    if (firstCode !== secondCode) expectCode(await verify2fa(t.app, second.accessToken, 'EMAIL', firstCode), 'INVALID_CODE');
    expectOk(await verify2fa(t.app, first.accessToken, 'EMAIL', firstCode));
    expectOk(await verify2fa(t.app, second.accessToken, 'EMAIL', secondCode));
  });

  it('an EMAIL code expires with the pending login after 5 minutes', async () => {
    const user = await t.emailUser();
    const pending = await loginPending(t.app, user.email);
    const code = await latestMailCode(t, user.email);
    t.app.clock.advance(5 * 60_000 + 1_000);
    expectCode(await verify2fa(t.app, pending.accessToken, 'EMAIL', code), 'UNAUTHENTICATED');
  });
});

describe.each(backends())('SMS factor (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('startMfaEnrollment(SMS) texts a code to the number in E.164; confirming turns MFA on and verifies the phone', async () => {
    const user = await signUp(t.app);
    expect(expectOk(await startEnrollment(t.app, user.accessToken, 'SMS', '+1 415 555 2671')).startMfaEnrollment).toMatchObject({
      method: 'SMS',
      secret: null,
    });
    const texts = await t.smsTo('+14155552671');
    expect(texts).toHaveLength(1);
    const code = codeFrom(texts[0]!.body);
    expect(expectOk(await me(t.app, user.accessToken)).me).toMatchObject({ mfaEnabled: false, phone: null, phoneVerified: false });

    expectCode(await confirmEnrollment(t.app, user.accessToken, 'SMS', otherThan(code)), 'INVALID_CODE');
    const confirmed = expectOk(await confirmEnrollment(t.app, user.accessToken, 'SMS', code)).confirmMfaEnrollment;
    expect(confirmed.recoveryCodes).toHaveLength(10);
    expect(confirmed.user).toMatchObject({ mfaEnabled: true, mfaMethods: ['SMS', 'RECOVERY_CODE'], defaultMfaMethod: 'SMS' });
    expect(expectOk(await me(t.app, user.accessToken)).me).toMatchObject({ phone: '+14155552671', phoneVerified: true, mfaEnabled: true });
    expect(await auditRows(t.app, { userId: user.userId, action: 'phone.verified' })).toHaveLength(1);
  });

  it('without a phone argument or a verified phone, startMfaEnrollment(SMS) is BAD_USER_INPUT and texts nothing', async () => {
    const user = await signUp(t.app);
    const before = t.sms.messages.length;
    expectCode(await startEnrollment(t.app, user.accessToken, 'SMS'), 'BAD_USER_INPUT');
    await t.app.deps.messages.idle();
    expect(t.sms.messages).toHaveLength(before);
  });

  it.each(['not a phone', '4155552671', '+1 123'])('a bad phone (%j) is BAD_USER_INPUT and texts nothing', async (phone) => {
    const user = await signUp(t.app);
    const before = t.sms.messages.length;
    expectCode(await startEnrollment(t.app, user.accessToken, 'SMS', phone), 'BAD_USER_INPUT');
    await t.app.deps.messages.idle();
    expect(t.sms.messages).toHaveLength(before);
    expect(expectOk(await mfaState(t.app, user.accessToken)).me.mfaEnabled).toBe(false);
  });

  it('without a phone argument, a verified phone receives the enrollment code', async () => {
    const user = await signUp(t.app);
    const phone = uniquePhone();
    expectOk(await t.app.gql(`mutation($p: String!) { requestPhoneVerification(phone: $p) }`, { p: phone.typed }, { token: user.accessToken }));
    expectOk(await t.app.gql(`mutation($c: String!) { verifyPhone(code: $c) { id } }`, { c: await latestCodeTo(t, phone.e164) }, { token: user.accessToken }));
    expectOk(await startEnrollment(t.app, user.accessToken, 'SMS'));
    expect(await t.smsTo(phone.e164)).toHaveLength(2);
    const confirmed = expectOk(await confirmEnrollment(t.app, user.accessToken, 'SMS', await latestCodeTo(t, phone.e164))).confirmMfaEnrollment;
    expect(confirmed.user).toMatchObject({ mfaEnabled: true, phone: phone.e164, phoneVerified: true });
  });

  it('login with default SMS texts a code at once; verify2fa(SMS) returns tokens with amr sms and mfa', async () => {
    const user = await t.smsUser();
    const before = (await t.smsTo(user.phone.e164)).length;
    const pending = await loginPending(t.app, user.email);
    expect(pending).toMatchObject({ defaultMfaMethod: 'SMS', mfaMethods: ['SMS', 'RECOVERY_CODE'] });
    const texts = await t.smsTo(user.phone.e164);
    expect(texts).toHaveLength(before + 1);
    const auth = expectOk(await verify2fa(t.app, pending.accessToken, 'SMS', codeFrom(texts.at(-1)!.body))).verify2fa;
    expect(auth.mfaRequired).toBe(false);
    expect(decodeJwt(auth.accessToken).amr).toEqual(expect.arrayContaining(['pwd', 'sms', 'mfa']));
    expectOk(await me(t.app, auth.accessToken));
  });

  it('sendMfaCode(SMS) with the pending token texts a new code that replaces the old one', async () => {
    const user = await t.smsUser();
    const pending = await loginPending(t.app, user.email);
    const old = await latestCodeTo(t, user.phone.e164);
    const before = (await t.smsTo(user.phone.e164)).length;
    expect(expectOk(await sendMfaCode(t.app, pending.accessToken, 'SMS')).sendMfaCode).toBe(true);
    expect(await t.smsTo(user.phone.e164)).toHaveLength(before + 1);
    const fresh = await latestCodeTo(t, user.phone.e164);
    if (old !== fresh) expectCode(await verify2fa(t.app, pending.accessToken, 'SMS', old), 'INVALID_CODE');
    expectOk(await verify2fa(t.app, pending.accessToken, 'SMS', fresh));
  });

  it('sendMfaCode(TOTP) is BAD_USER_INPUT, and so is a factor the user has not enabled; nothing is sent', async () => {
    const user = await t.smsUser();
    const pending = await loginPending(t.app, user.email);
    const texts = (await t.smsTo(user.phone.e164)).length;
    expectCode(await sendMfaCode(t.app, pending.accessToken, 'TOTP'), 'BAD_USER_INPUT');
    expectCode(await sendMfaCode(t.app, pending.accessToken, 'RECOVERY_CODE'), 'BAD_USER_INPUT');
    expectCode(await sendMfaCode(t.app, pending.accessToken, 'EMAIL'), 'BAD_USER_INPUT');
    expect(await t.smsTo(user.phone.e164)).toHaveLength(texts);
    expect(codeMails(await t.mailsTo(user.email))).toHaveLength(0);
  });

  it('sendMfaCode without a token is UNAUTHENTICATED', async () => {
    expectCode(await t.app.gql(`mutation { sendMfaCode(method: SMS) }`), 'UNAUTHENTICATED');
  });
});

describe.each(backends())('more factors, and counting MFA users (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('a second factor returns no recovery codes; the first ones keep working and the default stays', async () => {
    const user = await signUp(t.app);
    const { recoveryCodes } = await enrollTotp(t.app, user.accessToken);
    expect(recoveryCodes).toHaveLength(10);
    const second = await enrollEmail(t, user);
    expect(second.recoveryCodes).toBeNull();
    expect(second.user).toMatchObject({ mfaEnabled: true, mfaMethods: ['TOTP', 'EMAIL', 'RECOVERY_CODE'], defaultMfaMethod: 'TOTP' });
    expect((await auditRows(t.app, { userId: user.userId, action: 'mfa.enabled' })).map((r) => r.metadata)).toMatchObject([
      { method: 'TOTP', first: true },
      { method: 'EMAIL', first: false },
    ]);

    const mailsBefore = codeMails(await t.mailsTo(user.email)).length;
    const pending = await loginPending(t.app, user.email);
    expect(pending).toMatchObject({ defaultMfaMethod: 'TOTP', mfaMethods: ['TOTP', 'EMAIL', 'RECOVERY_CODE'] });
    // The default is TOTP: no code is mailed unless asked for.
    expect(codeMails(await t.mailsTo(user.email))).toHaveLength(mailsBefore);
    expectOk(await verify2fa(t.app, pending.accessToken, 'RECOVERY_CODE', recoveryCodes![0]!));
  });

  it('sendMfaCode(EMAIL) with a pending token of a TOTP+EMAIL user mails a code that finishes the login', async () => {
    const user = await signUp(t.app);
    await enrollTotp(t.app, user.accessToken);
    await enrollEmail(t, user);
    const pending = await loginPending(t.app, user.email);
    expect(expectOk(await sendMfaCode(t.app, pending.accessToken, 'EMAIL')).sendMfaCode).toBe(true);
    const auth = expectOk(await verify2fa(t.app, pending.accessToken, 'EMAIL', await latestMailCode(t, user.email))).verify2fa;
    expect(decodeJwt(auth.accessToken).amr).toEqual(expect.arrayContaining(['pwd', 'email', 'mfa']));
  });

  it('usersOverview.mfaEnabled counts the users with a confirmed factor', async () => {
    const admin = await signIn(t.app, ADMIN_EMAIL, ADMIN_PASSWORD);
    const count = async () => expectOk(await t.app.gql(`{ usersOverview { total mfaEnabled } }`, {}, { token: admin.accessToken })).usersOverview;
    const before = await count();

    const started = await signUp(t.app);
    expectOk(await startEnrollment(t.app, started.accessToken, 'TOTP'));
    await t.emailUser();
    await t.smsUser();
    const both = await signUp(t.app);
    await enrollTotp(t.app, both.accessToken);
    await enrollEmail(t, both);

    const after = await count();
    expect(after.total).toBe(before.total + 4);
    expect(after.mfaEnabled).toBe(before.mfaEnabled + 3);
  });
});
