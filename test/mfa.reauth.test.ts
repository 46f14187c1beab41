import { describe, expect, it } from 'vitest';
import { hashRecoveryCode } from '../src/modules/mfa/recovery.js';
import { recoveryCodes } from '../src/modules/mfa/tables.js';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, me, PASSWORD, refresh, signIn, signUp, uniqueEmail } from './support/actions.js';
import {
  confirmEnrollment,
  enrollTotp,
  loginPending,
  loginWithTotp,
  mfaState,
  MFA_RATE_LIMITS,
  nextTotp,
  RECOVERY_CODE_SHAPE,
  signUpWithTotp,
  startEnrollment,
  totpNow,
  verify2fa,
} from './support/mfa.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';
const MINUTE = 60_000;

const CONFIRM_ENDING = `mutation($m: MfaMethod!, $c: String!, $end: Boolean) { confirmMfaEnrollment(method: $m, code: $c, endOtherSessions: $end) { recoveryCodes user { mfaMethods } } }`;
const REMOVE_ENDING = `mutation($m: MfaMethod!, $p: String!, $c: String!, $end: Boolean) { removeMfaMethod(method: $m, password: $p, code: $c, endOtherSessions: $end) { mfaMethods } }`;
const UPDATE_USER = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id email name } }`;

describe.each(backends())('recent sign-in, other sessions, recovery codes (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD, RATE_LIMITS: MFA_RATE_LIMITS } });

  describe('regression: enrolling a factor did not need a recent sign-in', () => {
    it('startMfaEnrollment is REAUTH_REQUIRED 5 minutes after sign-in, and no secret is issued; a new sign-in can start it', async () => {
      const user = await signUp(app);
      app.clock.advance(4 * MINUTE);
      expect(expectOk(await startEnrollment(app, user.accessToken, 'TOTP')).startMfaEnrollment.secret).toEqual(expect.any(String));
      app.clock.advance(MINUTE + 1);
      const late = await startEnrollment(app, user.accessToken, 'TOTP');
      expectCode(late, 'REAUTH_REQUIRED');
      expect(late.data).toBeNull();
      const fresh = await signIn(app, user.email);
      expect(expectOk(await startEnrollment(app, fresh.accessToken, 'TOTP')).startMfaEnrollment.secret).toEqual(expect.any(String));
    });

    it('confirmMfaEnrollment is REAUTH_REQUIRED once the sign-in is older than 5 minutes, and MFA stays off', async () => {
      const user = await signUp(app);
      const { secret } = expectOk(await startEnrollment(app, user.accessToken, 'TOTP')).startMfaEnrollment;
      app.clock.advance(5 * MINUTE + 1);
      expectCode(await confirmEnrollment(app, user.accessToken, 'TOTP', totpNow(app, secret)), 'REAUTH_REQUIRED');
      expect(expectOk(await mfaState(app, user.accessToken)).me).toMatchObject({ mfaEnabled: false, mfaMethods: [] });
    });

    it('a refresh does not renew the sign-in: the refreshed token is REAUTH_REQUIRED too', async () => {
      const user = await signUp(app);
      app.clock.advance(6 * MINUTE);
      const refreshed = expectOk(await refresh(app, user.refreshToken)).refreshToken;
      expectCode(await startEnrollment(app, refreshed.accessToken, 'TOTP'), 'REAUTH_REQUIRED');
    });

    it('finishing MFA is a sign-in: verify2fa opens a session that may enroll another factor for 5 minutes', async () => {
      const user = await signUpWithTotp(app);
      const full = await loginWithTotp(app, user);
      expectOk(await startEnrollment(app, full.accessToken, 'EMAIL'));
      app.clock.advance(5 * MINUTE + 1);
      expectCode(await startEnrollment(app, full.accessToken, 'EMAIL'), 'REAUTH_REQUIRED');
      const pending = await loginPending(app, user.email);
      expectCode(await startEnrollment(app, pending.accessToken, 'EMAIL'), 'MFA_REQUIRED');
    });
  });

  describe('regression: an admin could change an email on an old sign-in', () => {
    it('updateUser with an email is REAUTH_REQUIRED 5 minutes after the admin signed in; other fields still work; a new sign-in can', async () => {
      const admin = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
      const target = await signUp(app);
      app.clock.advance(5 * MINUTE + 1);
      const moved = uniqueEmail('moved');
      expectCode(await app.gql(UPDATE_USER, { id: target.userId, input: { email: moved } }, { token: admin.accessToken }), 'REAUTH_REQUIRED');
      expect(expectOk(await me(app, target.accessToken)).me.email).toBe(target.email);
      expect(expectOk(await app.gql(UPDATE_USER, { id: target.userId, input: { name: 'Renamed' } }, { token: admin.accessToken })).updateUser.name).toBe(
        'Renamed',
      );
      const fresh = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
      expect(expectOk(await app.gql(UPDATE_USER, { id: target.userId, input: { email: moved } }, { token: fresh.accessToken })).updateUser.email).toBe(moved);
    });
  });

  describe('endOtherSessions', () => {
    it('confirmMfaEnrollment with endOtherSessions ends every other session and keeps this one; audited session.revoked', async () => {
      const user = await signUp(app);
      const other = await signIn(app, user.email);
      const { secret } = expectOk(await startEnrollment(app, user.accessToken, 'TOTP')).startMfaEnrollment;
      expectOk(await app.gql(CONFIRM_ENDING, { m: 'TOTP', c: totpNow(app, secret), end: true }, { token: user.accessToken }));
      expectCode(await me(app, other.accessToken), 'UNAUTHENTICATED');
      expectCode(await refresh(app, other.refreshToken), 'INVALID_TOKEN');
      expectOk(await me(app, user.accessToken));
      const [row] = await auditRows(app, { userId: user.userId, action: 'session.revoked' });
      expect(row?.metadata).toMatchObject({ reason: 'mfa.enabled', sessions: 1 });
    });

    it('by default (false) confirmMfaEnrollment and removeMfaMethod leave the other sessions alone', async () => {
      const user = await signUp(app);
      const other = await signIn(app, user.email);
      const { secret } = await enrollTotp(app, user.accessToken);
      expectOk(await app.gql(REMOVE_ENDING, { m: 'TOTP', p: PASSWORD, c: totpNow(app, secret) }, { token: user.accessToken }));
      expectOk(await me(app, other.accessToken));
      expect(await auditRows(app, { userId: user.userId, action: 'session.revoked' })).toHaveLength(0);
    });

    it('removeMfaMethod with endOtherSessions ends the other sessions, pending logins included, and keeps this one', async () => {
      const user = await signUpWithTotp(app);
      const other = await loginWithTotp(app, user);
      const pending = await loginPending(app, user.email);
      const removed = await app.gql(REMOVE_ENDING, { m: 'TOTP', p: PASSWORD, c: nextTotp(app, user.secret), end: true }, { token: user.accessToken });
      expect(expectOk(removed).removeMfaMethod.mfaMethods).toEqual([]);
      expectCode(await me(app, other.accessToken), 'UNAUTHENTICATED');
      expectCode(await verify2fa(app, pending.accessToken, 'TOTP', nextTotp(app, user.secret)), 'UNAUTHENTICATED');
      expectOk(await me(app, user.accessToken));
      const [row] = await auditRows(app, { userId: user.userId, action: 'session.revoked' });
      expect(row?.metadata).toMatchObject({ reason: 'mfa.disabled', sessions: 2 });
    });
  });

  describe('regression: recovery codes carried 60 bits', () => {
    it('10 distinct codes of 16 base32 characters (80 bits), grouped by four', async () => {
      const user = await signUpWithTotp(app);
      expect(user.recoveryCodes).toHaveLength(10);
      expect(new Set(user.recoveryCodes).size).toBe(10);
      for (const code of user.recoveryCodes) {
        expect(code).toMatch(RECOVERY_CODE_SHAPE);
        expect(code.replace(/-/g, '')).toHaveLength(16);
      }
    });
  });

  describe('recovery codes as typed, and codes issued before', () => {
    it('a code is accepted without dashes and in lower case', async () => {
      const user = await signUpWithTotp(app);
      const pending = await loginPending(app, user.email);
      expectOk(await verify2fa(app, pending.accessToken, 'RECOVERY_CODE', user.recoveryCodes[3]!.replace(/-/g, '').toLowerCase()));
    });

    it('a 12-character code issued before still signs in, once', async () => {
      const user = await signUpWithTotp(app);
      const legacy = '7K3Q-M9XD-2HTW';
      const codeHash = hashRecoveryCode(app.deps.mfaKeys.recovery, legacy.replace(/-/g, ''));
      await app.deps.db.insert(recoveryCodes).values({ userId: user.userId, codeHash, createdAt: new Date(app.clock.now()) });
      const first = await loginPending(app, user.email);
      expectOk(await verify2fa(app, first.accessToken, 'RECOVERY_CODE', legacy.toLowerCase()));
      const second = await loginPending(app, user.email);
      expectCode(await verify2fa(app, second.accessToken, 'RECOVERY_CODE', legacy), 'INVALID_CODE');
    });
  });
});
