import { describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, codeOf, expectCode, expectOk, login, PASSWORD, signUp } from './support/actions.js';
import { REGENERATE, REMOVE, signUpWithTotp, wrongTotp } from './support/mfa.js';

const WRONG = 'a guessed password 0001';

/**
 * Re-authentication with the current password (changePassword, deleteAccount, removeMfaMethod,
 * regenerateRecoveryCodes) under the login's failure gate and its own per-account limit
 * (reauth.account, 10 per 15 minutes by default), audited as password.reauth_failed.
 */
describe.each(backends())('re-authentication throttling (%s)', (backend) => {
  const app = useTestApp(backend);

  const changePassword = (token: string, current: string) =>
    app.gql(
      `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`,
      { c: current, n: 'a brand new passphrase 2024' },
      { token },
    );
  const deleteAccount = (token: string, password: string) => app.gql(`mutation($p: String!) { deleteAccount(password: $p) }`, { p: password }, { token });

  /** Runs `n` calls one after another: their error codes, and how many passwords were verified. */
  async function serial(n: number, run: () => Promise<Parameters<typeof codeOf>[0]>) {
    const before = app.hasher.calls.verify;
    const results = [];
    for (let i = 0; i < n; i++) results.push(await run());
    return { results, codes: results.map(codeOf), verified: app.hasher.calls.verify - before };
  }

  it('regression: 30 wrong changePassword calls with a stolen token: 10 evaluated, then RATE_LIMITED with retryAfter; each evaluated one audited without the password', async () => {
    const user = await signUp(app);
    const run = await serial(30, () => changePassword(user.accessToken, WRONG));
    expect(run.verified).toBe(10);
    expect(run.codes.slice(0, 10)).toEqual(Array(10).fill('INVALID_CREDENTIALS'));
    expect(run.codes.slice(10)).toEqual(Array(20).fill('RATE_LIMITED'));
    for (const refused of run.results.slice(10)) expect(refused.errors![0]!.extensions.retryAfter).toBeGreaterThanOrEqual(1);
    const rows = await auditRows(app, { userId: user.userId, action: 'password.reauth_failed' });
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(row).toMatchObject({ outcome: 'FAILURE', metadata: { operation: 'changePassword' } });
    expect(JSON.stringify(rows)).not.toContain(WRONG);
    // The right password is refused too while the limit holds: the guesser learns nothing more.
    expectCode(await changePassword(user.accessToken, PASSWORD), 'RATE_LIMITED');
  });

  it('regression: 15 wrong deleteAccount calls count in the login failure streak, so login with the right password waits too', async () => {
    const user = await signUp(app);
    const run = await serial(15, () => deleteAccount(user.accessToken, WRONG));
    expect(run.verified).toBe(10);
    expect(run.codes).toEqual([...Array(10).fill('INVALID_CREDENTIALS'), ...Array(5).fill('RATE_LIMITED')]);
    expect((await auditRows(app, { userId: user.userId, action: 'password.reauth_failed' })).map((r) => r.metadata)).toEqual(
      Array(10).fill({ operation: 'deleteAccount' }),
    );
    const delayed = await login(app, user.email, PASSWORD);
    expectCode(delayed, 'RATE_LIMITED');
    expect(delayed.errors![0]!.extensions.retryAfter).toBeGreaterThanOrEqual(1);
    // The gate's wait (1 s after the 10th failure) runs on the injected clock.
    app.clock.advance(1_000);
    expectOk(await login(app, user.email, PASSWORD));
  });

  it('regression: wrong passwords for removeMfaMethod and regenerateRecoveryCodes are audited with their operation and counted', async () => {
    const user = await signUpWithTotp(app);
    expectCode(await app.gql(REMOVE, { m: 'TOTP', p: WRONG, c: wrongTotp(app, user.secret) }, { token: user.accessToken }), 'INVALID_CREDENTIALS');
    expectCode(await app.gql(REGENERATE, { p: WRONG, c: wrongTotp(app, user.secret) }, { token: user.accessToken }), 'INVALID_CREDENTIALS');
    const rows = await auditRows(app, { userId: user.userId, action: 'password.reauth_failed' });
    expect(rows.map((r) => r.metadata)).toEqual([{ operation: 'removeMfaMethod' }, { operation: 'regenerateRecoveryCodes' }]);
    // 2 counted here, 8 wrong logins make 10: the next login waits.
    for (let i = 0; i < 8; i++) expectCode(await login(app, user.email, WRONG), 'INVALID_CREDENTIALS');
    expectCode(await login(app, user.email, PASSWORD), 'RATE_LIMITED');
  });

  it('a right current password ends the failure streak, as a login does', async () => {
    const user = await signUp(app);
    for (let i = 0; i < 9; i++) expectCode(await login(app, user.email, WRONG), 'INVALID_CREDENTIALS');
    expectOk(await changePassword(user.accessToken, PASSWORD));
    // Nine more wrong logins are answered without any wait: the streak started again.
    for (let i = 0; i < 9; i++) expectCode(await login(app, user.email, WRONG), 'INVALID_CREDENTIALS');
    expectOk(await login(app, user.email, 'a brand new passphrase 2024'));
  });

  it('regression: reauth.account refuses the 11th re-authentication in its window even with the right password, audited once', async () => {
    const user = await signUpWithTotp(app);
    const limitRows = async () => (await auditRows(app, { action: 'rate_limit.exceeded' })).filter((r) => r.metadata?.limit === 'reauth.account').length;
    const rowsBefore = await limitRows();
    // Right password, wrong code: each clears the login streak, so only the per-account limit can stop them.
    for (let i = 0; i < 10; i++)
      expectCode(await app.gql(REGENERATE, { p: PASSWORD, c: wrongTotp(app, user.secret) }, { token: user.accessToken }), 'INVALID_CODE');
    const before = app.hasher.calls.verify;
    const limited = await app.gql(REGENERATE, { p: PASSWORD, c: wrongTotp(app, user.secret) }, { token: user.accessToken });
    expectCode(limited, 'RATE_LIMITED');
    expect(limited.errors![0]!.extensions.retryAfter).toBeGreaterThan(60);
    expect(app.hasher.calls.verify).toBe(before);
    expectCode(await deleteAccount(user.accessToken, PASSWORD), 'RATE_LIMITED');
    expect(await limitRows()).toBe(rowsBefore + 1);
    // Login is not re-authentication: it stays open.
    expect(expectOk(await login(app, user.email)).login.mfaRequired).toBe(true);
  });
});
