import { describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, me, PASSWORD, signUp } from './support/actions.js';
import { grantAdmin } from './support/audit.js';
import { enrollTotp, loginPending, MFA_STATE, REMOVE, signUpWithTotp, START, totpNow } from './support/mfa.js';
import { amrOf, finishLogin, MY_PASSKEYS, newAuthenticator, ORIGIN, passkeyLogin, registerPasskey, startLogin } from './support/passkeys.js';

describe.each(backends())('passkeys: second factor (%s)', (backend) => {
  const app = useTestApp(backend);

  async function passkeyUser() {
    const user = await signUp(app);
    const authenticator = newAuthenticator();
    const passkey = await registerPasskey(app, user.accessToken, authenticator);
    return { user, authenticator, passkey };
  }

  it('a password then a passkey: PASSKEY is offered, the pending token starts and finishes it, amr names both, audited', async () => {
    const { user, authenticator, passkey } = await passkeyUser();
    const pending = await loginPending(app, user.email);
    expect(pending).toMatchObject({ mfaMethods: ['PASSKEY', 'RECOVERY_CODE'], defaultMfaMethod: 'PASSKEY' });
    const options = await startLogin(app, { token: pending.accessToken });
    expect(options.allowCredentials).toHaveLength(1);
    const auth = expectOk(await finishLogin(app, authenticator.emulator.getJSON(ORIGIN, options), pending.accessToken)).finishPasskeyLogin;
    expect(auth).toMatchObject({ mfaRequired: false, user: { id: user.userId } });
    expect(amrOf(auth.accessToken)).toEqual(['pwd', 'swk', 'mfa']);
    expectOk(await me(app, auth.accessToken));
    // The pending login is over: its token no longer works.
    expectCode(await me(app, pending.accessToken), 'UNAUTHENTICATED');
    const rows = await auditRows(app, { userId: user.userId });
    expect(rows.find((r) => r.action === 'passkey.login')?.metadata).toEqual({ keyId: passkey.id, secondFactor: true });
    expect(rows.find((r) => r.action === 'mfa.challenge_succeeded')?.metadata).toMatchObject({ method: 'PASSKEY' });
    expect(rows.filter((r) => r.action === 'user.login').at(-1)?.metadata).toMatchObject({ method: 'password', mfa: 'PASSKEY' });
  });

  it("challenges are bound: a discoverable one cannot finish a pending login, a pending login's cannot sign in without its token", async () => {
    const { user, authenticator } = await passkeyUser();
    const pending = await loginPending(app, user.email);
    const discoverable = authenticator.emulator.getJSON(ORIGIN, await startLogin(app));
    expectCode(await finishLogin(app, discoverable, pending.accessToken), 'INVALID_CODE');
    const bound = authenticator.emulator.getJSON(ORIGIN, await startLogin(app, { token: pending.accessToken }));
    expectCode(await finishLogin(app, bound), 'INVALID_CODE');
    const reasons = (await auditRows(app, { userId: user.userId, action: 'passkey.login_failed' })).map((r) => (r.metadata as { reason: string }).reason);
    expect(reasons).toEqual(['challenge_binding', 'challenge_binding']);
    // The pending login still stands and a bound answer completes it.
    const options = await startLogin(app, { token: pending.accessToken });
    expectOk(await finishLogin(app, authenticator.emulator.getJSON(ORIGIN, options), pending.accessToken));
  });

  it('a pending login accepts at most 5 passkey answers: the sixth is refused and the pending token is void', async () => {
    const { user, authenticator } = await passkeyUser();
    const pending = await loginPending(app, user.email);
    for (let i = 0; i < 5; i++) {
      const options = await startLogin(app, { token: pending.accessToken });
      expectCode(await finishLogin(app, authenticator.emulator.getJSON('http://evil.gateway.test', options), pending.accessToken), 'INVALID_CODE');
    }
    const options = await startLogin(app, { token: pending.accessToken });
    expectCode(await finishLogin(app, authenticator.emulator.getJSON(ORIGIN, options), pending.accessToken), 'INVALID_CODE');
    expectCode(await me(app, pending.accessToken), 'UNAUTHENTICATED');
  });

  it('with TOTP and a passkey: both offered after a password; the passkey alone is a full sign-in (no pending step)', async () => {
    const user = await signUpWithTotp(app);
    const authenticator = newAuthenticator();
    await registerPasskey(app, user.accessToken, authenticator);
    const pending = await loginPending(app, user.email);
    expect(pending).toMatchObject({ mfaMethods: ['TOTP', 'PASSKEY', 'RECOVERY_CODE'], defaultMfaMethod: 'TOTP' });
    const auth = expectOk(await passkeyLogin(app, authenticator)).finishPasskeyLogin;
    expect(auth.mfaRequired).toBe(false);
    const sessions = expectOk(await app.gql('{ mySessions { current mfaVerified } }', {}, { token: auth.accessToken })).mySessions;
    expect(sessions.find((s: { current: boolean }) => s.current)).toMatchObject({ mfaVerified: true });
  });

  it('a pending login without PASSKEY among its methods refuses startPasskeyLogin (BAD_USER_INPUT)', async () => {
    const user = await signUpWithTotp(app);
    const pending = await loginPending(app, user.email);
    expectCode(await app.gql('mutation { startPasskeyLogin }', {}, { token: pending.accessToken }), 'BAD_USER_INPUT');
  });

  it('a passkey-only account that enrolls TOTP gets its recovery codes then (the passkey brought none)', async () => {
    const { user } = await passkeyUser();
    const { recoveryCodes } = await enrollTotp(app, user.accessToken);
    expect(recoveryCodes).toHaveLength(10);
    expect(expectOk(await app.gql(MFA_STATE, {}, { token: user.accessToken })).me.mfaMethods).toEqual(['TOTP', 'PASSKEY', 'RECOVERY_CODE']);
  });

  it('PASSKEY is neither enrolled by startMfaEnrollment nor removed by removeMfaMethod (BAD_USER_INPUT)', async () => {
    const user = await signUpWithTotp(app);
    await registerPasskey(app, user.accessToken, newAuthenticator());
    expectCode(await app.gql(START, { m: 'PASSKEY' }, { token: user.accessToken }), 'BAD_USER_INPUT');
    expectCode(await app.gql(REMOVE, { m: 'PASSKEY', p: PASSWORD, c: totpNow(app, user.secret) }, { token: user.accessToken }), 'BAD_USER_INPUT');
    expect(expectOk(await app.gql(MY_PASSKEYS, {}, { token: user.accessToken })).me.passkeys).toHaveLength(1);
  });

  it("an admin's resetUserMfa removes the passkeys too: they no longer sign in, password login needs no second factor", async () => {
    const { user, authenticator } = await passkeyUser();
    const admin = await signUp(app);
    await grantAdmin(app, admin.userId);
    expectOk(await app.gql('mutation($id: ID!) { resetUserMfa(id: $id) { id mfaMethods } }', { id: user.userId }, { token: admin.accessToken }));
    expectCode(await passkeyLogin(app, authenticator), 'INVALID_CODE');
    const after = expectOk(await app.gql(MY_PASSKEYS, {}, { token: user.accessToken })).me;
    expect(after).toMatchObject({ passkeys: [], mfaMethods: [] });
  });
});
