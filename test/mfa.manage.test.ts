import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { recoveryCodes as recoveryCodesTable } from '../src/modules/mfa/tables.js';
import { backends, type Backend, type TestApp, useFixture } from './support/app.js';
import { auditRows, expectCode, expectOk, login, PASSWORD, signUp } from './support/actions.js';
import { startMessaging, uniquePhone } from './support/messages.js';
import { codeFrom } from './support/sinks.js';
import {
  codeMails,
  enrollEmail,
  latestMailCode,
  loginPending,
  MFA_RATE_LIMITS,
  mfaState,
  nextTotp,
  RECOVERY_CODE_SHAPE,
  REGENERATE,
  REMOVE,
  sendMfaCode,
  SET_DEFAULT,
  signUpWithTotp,
  startEnrollment,
  totpNow,
  verify2fa,
  wrongTotp,
} from './support/mfa.js';

const WRONG_PASSWORD = 'definitely not the password';

async function setup(backend: Backend, env: Record<string, string> = {}) {
  const m = await startMessaging(backend, { RATE_LIMITS: MFA_RATE_LIMITS, ...env });
  const { app } = m;
  return {
    ...m,
    regenerate: (token: string, code: string, password = PASSWORD) => app.gql(REGENERATE, { p: password, c: code }, { token }),
    remove: (token: string, method: string, code: string, password = PASSWORD) => app.gql(REMOVE, { m: method, p: password, c: code }, { token }),
    setDefault: (token: string, method: string) => app.gql(SET_DEFAULT, { m: method }, { token }),
    /** A user with TOTP, then EMAIL. */
    async totpEmailUser() {
      const user = await signUpWithTotp(app);
      await enrollEmail(m, user);
      return user;
    },
    /** A user whose only factor is EMAIL. */
    async emailUser() {
      const user = await signUp(app);
      const confirmed = await enrollEmail(m, user);
      return { ...user, recoveryCodes: confirmed.recoveryCodes as string[] };
    },
    /** Asks for a re-authentication code by mail with the full token and returns it. */
    async mailedReauthCode(user: { accessToken: string; email: string }) {
      const before = codeMails(await m.mailsTo(user.email)).length;
      expect(expectOk(await sendMfaCode(app, user.accessToken, 'EMAIL')).sendMfaCode).toBe(true);
      expect(codeMails(await m.mailsTo(user.email))).toHaveLength(before + 1);
      return latestMailCode(m, user.email);
    },
  };
}

/** The login is finished by the recovery code: true, or the error code. */
async function recoveryLogin(app: TestApp, email: string, code: string) {
  const pending = await loginPending(app, email);
  const result = await verify2fa(app, pending.accessToken, 'RECOVERY_CODE', code);
  return result.errors ? result.errors[0]!.extensions.code : true;
}

describe.each(backends())('regenerateRecoveryCodes (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('with the password and a TOTP code returns 10 new codes: an old one no longer signs in, a new one does; audited', async () => {
    const user = await signUpWithTotp(t.app);
    const fresh = expectOk(await t.regenerate(user.accessToken, totpNow(t.app, user.secret))).regenerateRecoveryCodes as string[];
    expect(fresh).toHaveLength(10);
    expect(new Set(fresh).size).toBe(10);
    for (const code of fresh) {
      expect(code).toMatch(RECOVERY_CODE_SHAPE);
      expect(user.recoveryCodes).not.toContain(code);
    }
    expect(await recoveryLogin(t.app, user.email, user.recoveryCodes[0]!)).toBe('INVALID_CODE');
    expect(await recoveryLogin(t.app, user.email, fresh[0]!)).toBe(true);

    const rows = await auditRows(t.app, { userId: user.userId, action: 'mfa.recovery_codes_regenerated' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'SUCCESS', actorId: user.userId });
    const all = JSON.stringify(await auditRows(t.app, { userId: user.userId }));
    for (const code of fresh) expect(all).not.toContain(code);
  });

  it('the TOTP code used to re-authenticate cannot then sign in (its step is spent)', async () => {
    const user = await signUpWithTotp(t.app);
    const code = totpNow(t.app, user.secret);
    expectOk(await t.regenerate(user.accessToken, code));
    const pending = await loginPending(t.app, user.email);
    expectCode(await verify2fa(t.app, pending.accessToken, 'TOTP', code), 'INVALID_CODE');
  });

  it('a wrong password is INVALID_CREDENTIALS and the old codes stay', async () => {
    const user = await signUpWithTotp(t.app);
    expectCode(await t.regenerate(user.accessToken, totpNow(t.app, user.secret), WRONG_PASSWORD), 'INVALID_CREDENTIALS');
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.recovery_codes_regenerated' })).toHaveLength(0);
    expect(await recoveryLogin(t.app, user.email, user.recoveryCodes[0]!)).toBe(true);
  });

  it('a wrong code is INVALID_CODE, audited as a failed challenge, and the old codes stay', async () => {
    const user = await signUpWithTotp(t.app);
    expectCode(await t.regenerate(user.accessToken, wrongTotp(t.app, user.secret)), 'INVALID_CODE');
    expectCode(await t.regenerate(user.accessToken, 'ABCD-EFGH-JKMN'), 'INVALID_CODE');
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.recovery_codes_regenerated' })).toHaveLength(0);
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.challenge_failed' })).toHaveLength(2);
    expect(await recoveryLogin(t.app, user.email, user.recoveryCodes[0]!)).toBe(true);
  });

  it('without MFA it is BAD_USER_INPUT', async () => {
    const user = await signUp(t.app);
    expectCode(await t.regenerate(user.accessToken, '123456'), 'BAD_USER_INPUT');
  });

  it('without a token it is UNAUTHENTICATED; with a pending token MFA_REQUIRED', async () => {
    const user = await signUpWithTotp(t.app);
    expectCode(await t.app.gql(REGENERATE, { p: PASSWORD, c: '123456' }), 'UNAUTHENTICATED');
    const pending = await loginPending(t.app, user.email);
    expectCode(await t.regenerate(pending.accessToken, totpNow(t.app, user.secret)), 'MFA_REQUIRED');
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.recovery_codes_regenerated' })).toHaveLength(0);
  });
});

describe.each(backends())('removeMfaMethod (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('removing TOTP with EMAIL left keeps MFA on with EMAIL', async () => {
    const user = await t.totpEmailUser();
    const removed = expectOk(await t.remove(user.accessToken, 'TOTP', totpNow(t.app, user.secret))).removeMfaMethod;
    expect(removed).toEqual({ id: user.userId, mfaEnabled: true, mfaMethods: ['EMAIL', 'RECOVERY_CODE'], defaultMfaMethod: 'EMAIL' });
    expect(expectOk(await mfaState(t.app, user.accessToken)).me).toMatchObject({ mfaEnabled: true, mfaMethods: ['EMAIL', 'RECOVERY_CODE'] });
    const pending = await loginPending(t.app, user.email);
    expect(pending).toMatchObject({ defaultMfaMethod: 'EMAIL', mfaMethods: ['EMAIL', 'RECOVERY_CODE'] });
    expectCode(await verify2fa(t.app, pending.accessToken, 'TOTP', nextTotp(t.app, user.secret)), 'INVALID_CODE');
    // The recovery codes stay while MFA is on.
    expectOk(await verify2fa(t.app, pending.accessToken, 'RECOVERY_CODE', user.recoveryCodes[0]!));
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.disabled' })).toMatchObject([{ metadata: { method: 'TOTP', mfaOff: false } }]);
  });

  it('removing the last factor turns MFA off: no methods, no default, no recovery codes, and login returns full tokens', async () => {
    const user = await signUpWithTotp(t.app);
    const removed = expectOk(await t.remove(user.accessToken, 'TOTP', totpNow(t.app, user.secret))).removeMfaMethod;
    expect(removed).toEqual({ id: user.userId, mfaEnabled: false, mfaMethods: [], defaultMfaMethod: null });
    expect(expectOk(await mfaState(t.app, user.accessToken)).me).toMatchObject({ mfaEnabled: false, mfaMethods: [], defaultMfaMethod: null });
    const auth = expectOk(await login(t.app, user.email)).login;
    expect(auth).toMatchObject({ mfaRequired: false });
    expect(auth.refreshToken).toEqual(expect.any(String));
    expect(await t.app.deps.db.select().from(recoveryCodesTable).where(eq(recoveryCodesTable.userId, user.userId))).toEqual([]);
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.disabled' })).toMatchObject([
      { outcome: 'SUCCESS', metadata: { method: 'TOTP', mfaOff: true } },
    ]);
    // TOTP can be enrolled again, with a new secret.
    const again = expectOk(await startEnrollment(t.app, user.accessToken, 'TOTP')).startMfaEnrollment;
    expect(again.secret).not.toBe(user.secret);
  });

  it('a recovery code also re-authenticates, and is used up by it', async () => {
    const user = await t.totpEmailUser();
    const [code] = user.recoveryCodes;
    expectOk(await t.remove(user.accessToken, 'EMAIL', code!));
    expect(expectOk(await mfaState(t.app, user.accessToken)).me.mfaMethods).toEqual(['TOTP', 'RECOVERY_CODE']);
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.recovery_code_used' })).toHaveLength(1);
    expect(await recoveryLogin(t.app, user.email, code!)).toBe('INVALID_CODE');
  });

  it('a wrong password is INVALID_CREDENTIALS and removes nothing', async () => {
    const user = await signUpWithTotp(t.app);
    expectCode(await t.remove(user.accessToken, 'TOTP', totpNow(t.app, user.secret), WRONG_PASSWORD), 'INVALID_CREDENTIALS');
    expect(expectOk(await mfaState(t.app, user.accessToken)).me).toMatchObject({
      mfaEnabled: true,
      mfaMethods: ['TOTP', 'RECOVERY_CODE'],
      defaultMfaMethod: 'TOTP',
    });
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.disabled' })).toHaveLength(0);
    await loginPending(t.app, user.email);
  });

  it('a wrong code is INVALID_CODE and removes nothing', async () => {
    const user = await signUpWithTotp(t.app);
    expectCode(await t.remove(user.accessToken, 'TOTP', wrongTotp(t.app, user.secret)), 'INVALID_CODE');
    expect(expectOk(await mfaState(t.app, user.accessToken)).me.mfaMethods).toEqual(['TOTP', 'RECOVERY_CODE']);
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.disabled' })).toHaveLength(0);
  });

  it('a factor that is not enabled, or RECOVERY_CODE, is BAD_USER_INPUT', async () => {
    const user = await signUpWithTotp(t.app);
    expectCode(await t.remove(user.accessToken, 'SMS', totpNow(t.app, user.secret)), 'BAD_USER_INPUT');
    expectCode(await t.remove(user.accessToken, 'RECOVERY_CODE', nextTotp(t.app, user.secret)), 'BAD_USER_INPUT');
    expect(expectOk(await mfaState(t.app, user.accessToken)).me.mfaMethods).toEqual(['TOTP', 'RECOVERY_CODE']);
  });

  it('without MFA it is BAD_USER_INPUT', async () => {
    const user = await signUp(t.app);
    expectCode(await t.remove(user.accessToken, 'TOTP', '123456'), 'BAD_USER_INPUT');
  });
});

describe.each(backends())('re-authentication with a mailed code (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('an EMAIL-only user asks sendMfaCode(EMAIL) with the full token and removes the factor with the mailed code', async () => {
    const user = await t.emailUser();
    const code = await t.mailedReauthCode(user);
    const removed = expectOk(await t.remove(user.accessToken, 'EMAIL', code)).removeMfaMethod;
    expect(removed).toMatchObject({ mfaEnabled: false, mfaMethods: [], defaultMfaMethod: null });
    expect(expectOk(await login(t.app, user.email)).login.mfaRequired).toBe(false);
    expect(await auditRows(t.app, { userId: user.userId, action: 'mfa.challenge_succeeded' })).toMatchObject([
      { metadata: { method: 'EMAIL', purpose: 'reauthentication' } },
    ]);
  });

  it('a mailed re-authentication code works once', async () => {
    const user = await t.emailUser();
    const code = await t.mailedReauthCode(user);
    const fresh = expectOk(await t.regenerate(user.accessToken, code)).regenerateRecoveryCodes;
    expect(fresh).toHaveLength(10);
    expectCode(await t.regenerate(user.accessToken, code), 'INVALID_CODE');
  });

  it('the code a pending login mailed does not re-authenticate', async () => {
    const user = await t.emailUser();
    await loginPending(t.app, user.email);
    const loginCode = await latestMailCode(t, user.email);
    expectCode(await t.regenerate(user.accessToken, loginCode), 'INVALID_CODE');
    expect(await recoveryLogin(t.app, user.email, user.recoveryCodes[0]!)).toBe(true);
  });

  it('an SMS-only user re-authenticates with a texted code', async () => {
    const user = await signUp(t.app);
    const phone = uniquePhone();
    expectOk(await startEnrollment(t.app, user.accessToken, 'SMS', phone.typed));
    const texts = await t.smsTo(phone.e164);
    expectOk(
      await t.app.gql(
        `mutation($c: String!) { confirmMfaEnrollment(method: SMS, code: $c) { recoveryCodes } }`,
        { c: codeFrom(texts.at(-1)!.body) },
        { token: user.accessToken },
      ),
    );
    expectCode(await sendMfaCode(t.app, user.accessToken, 'EMAIL'), 'BAD_USER_INPUT');
    expect(expectOk(await sendMfaCode(t.app, user.accessToken, 'SMS')).sendMfaCode).toBe(true);
    const sent = await t.smsTo(phone.e164);
    expect(sent).toHaveLength(texts.length + 1);
    const removed = expectOk(await t.remove(user.accessToken, 'SMS', codeFrom(sent.at(-1)!.body))).removeMfaMethod;
    expect(removed.mfaEnabled).toBe(false);
  });
});

describe.each(backends())('setDefaultMfaMethod (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it("an enabled factor becomes the default, and the next login's", async () => {
    const user = await t.totpEmailUser();
    expect(expectOk(await t.setDefault(user.accessToken, 'EMAIL')).setDefaultMfaMethod).toMatchObject({
      defaultMfaMethod: 'EMAIL',
      mfaMethods: ['TOTP', 'EMAIL', 'RECOVERY_CODE'],
    });
    expect(expectOk(await mfaState(t.app, user.accessToken)).me.defaultMfaMethod).toBe('EMAIL');
    const before = codeMails(await t.mailsTo(user.email)).length;
    expect((await loginPending(t.app, user.email)).defaultMfaMethod).toBe('EMAIL');
    // An EMAIL default mails the code at once.
    expect(codeMails(await t.mailsTo(user.email))).toHaveLength(before + 1);

    expect(expectOk(await t.setDefault(user.accessToken, 'TOTP')).setDefaultMfaMethod.defaultMfaMethod).toBe('TOTP');
    expect((await loginPending(t.app, user.email)).defaultMfaMethod).toBe('TOTP');
    expect(codeMails(await t.mailsTo(user.email))).toHaveLength(before + 1);
  });

  it('a factor that is not enabled, or RECOVERY_CODE, is BAD_USER_INPUT and the default stays', async () => {
    const user = await t.totpEmailUser();
    expectCode(await t.setDefault(user.accessToken, 'SMS'), 'BAD_USER_INPUT');
    expectCode(await t.setDefault(user.accessToken, 'RECOVERY_CODE'), 'BAD_USER_INPUT');
    expect(expectOk(await mfaState(t.app, user.accessToken)).me.defaultMfaMethod).toBe('TOTP');
  });

  it('without MFA any method is BAD_USER_INPUT', async () => {
    const user = await signUp(t.app);
    expectCode(await t.setDefault(user.accessToken, 'TOTP'), 'BAD_USER_INPUT');
    expect(expectOk(await mfaState(t.app, user.accessToken)).me.defaultMfaMethod).toBeNull();
  });
});

describe.each(backends())('MFA_METHODS=TOTP (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend, { MFA_METHODS: 'TOTP' }),
    (fixture) => fixture.close(),
  );

  it('startMfaEnrollment(SMS) and (EMAIL) are BAD_USER_INPUT and send nothing; TOTP is offered', async () => {
    const user = await signUp(t.app);
    const phone = uniquePhone();
    expectCode(await startEnrollment(t.app, user.accessToken, 'SMS', phone.typed), 'BAD_USER_INPUT');
    expectCode(await startEnrollment(t.app, user.accessToken, 'EMAIL'), 'BAD_USER_INPUT');
    expect(await t.smsTo(phone.e164)).toEqual([]);
    expect(codeMails(await t.mailsTo(user.email))).toEqual([]);
    expect(expectOk(await startEnrollment(t.app, user.accessToken, 'TOTP')).startMfaEnrollment.secret).toEqual(expect.any(String));
  });
});
