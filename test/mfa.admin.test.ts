import { describe, expect, it } from 'vitest';
import { mfaFactors, recoveryCodes } from '../src/modules/mfa/tables.js';
import { eq } from 'drizzle-orm';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, login, signUp } from './support/actions.js';
import { grantAdmin } from './support/audit.js';
import { loginPending, MFA_RATE_LIMITS, signUpWithTotp } from './support/mfa.js';

const RESET = `mutation($id: ID!) { resetUserMfa(id: $id) { id mfaEnabled mfaMethods defaultMfaMethod } }`;

describe.each(backends())('resetUserMfa (%s)', (backend) => {
  const app = useTestApp(backend, { env: { RATE_LIMITS: MFA_RATE_LIMITS } });

  it('an admin turns a user’s MFA off: factors and recovery codes go, the password alone signs in, audited with the actor', async () => {
    const admin = await signUp(app);
    await grantAdmin(app, admin.userId);
    const user = await signUpWithTotp(app);
    await loginPending(app, user.email);
    const reset = expectOk(await app.gql(RESET, { id: user.userId }, { token: admin.accessToken })).resetUserMfa;
    expect(reset).toEqual({ id: user.userId, mfaEnabled: false, mfaMethods: [], defaultMfaMethod: null });
    expect(await app.deps.db.select().from(mfaFactors).where(eq(mfaFactors.userId, user.userId))).toEqual([]);
    expect(await app.deps.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.userId))).toEqual([]);
    const auth = expectOk(await login(app, user.email)).login;
    expect(auth.mfaRequired).toBe(false);
    expect(auth.refreshToken).toEqual(expect.any(String));
    const [row] = await auditRows(app, { userId: user.userId, action: 'mfa.disabled' });
    expect(row).toMatchObject({ actorId: admin.userId, metadata: { methods: ['TOTP'], by: 'admin' } });
  });

  it('needs users:write, refuses the caller’s own account and answers NOT_FOUND for an unknown id', async () => {
    const plain = await signUp(app);
    const user = await signUpWithTotp(app);
    expectCode(await app.gql(RESET, { id: user.userId }, { token: plain.accessToken }), 'FORBIDDEN');
    expect(expectOk(await login(app, user.email)).login.mfaRequired).toBe(true);
    const admin = await signUpWithTotp(app);
    await grantAdmin(app, admin.userId);
    expectCode(await app.gql(RESET, { id: admin.userId }, { token: admin.accessToken }), 'BAD_USER_INPUT');
    expectCode(await app.gql(RESET, { id: '00000000-0000-4000-8000-000000000000' }, { token: admin.accessToken }), 'NOT_FOUND');
  });
});
