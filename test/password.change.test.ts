import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { users } from '../src/modules/users/tables.js';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, login, me, PASSWORD, refresh, signIn, signUp, type Tokens } from './support/actions.js';

const NEW_PASSWORD = 'a brand new passphrase 2024';

describe.each(backends())('changePassword (%s)', (backend) => {
  const app = useTestApp(backend);

  function changePassword(token: string | undefined, currentPassword: string, newPassword: string) {
    return app.gql(
      `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`,
      { c: currentPassword, n: newPassword },
      { token },
    );
  }

  async function passwordHashOf(userId: string) {
    const [row] = await app.deps.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, userId));
    return row!.hash;
  }

  /** The password still works, the rejected one does not, and the stored hash did not move. */
  async function expectUnchanged(user: Tokens, hashBefore: string | null, rejected: string) {
    expect(await passwordHashOf(user.userId)).toBe(hashBefore);
    expectCode(await login(app, user.email, rejected), 'INVALID_CREDENTIALS');
    expectOk(await login(app, user.email, PASSWORD));
  }

  it('answers INVALID_CREDENTIALS for a wrong current password and leaves the password unchanged', async () => {
    const user = await signUp(app);
    const hash = await passwordHashOf(user.userId);
    expectCode(await changePassword(user.accessToken, 'not my current password', NEW_PASSWORD), 'INVALID_CREDENTIALS');
    await expectUnchanged(user, hash, NEW_PASSWORD);
    expectOk(await me(app, user.accessToken));
    expect(await auditRows(app, { userId: user.userId, action: 'password.changed' })).toHaveLength(0);
  });

  it.each<[string, (email: string) => string]>([
    ['too short', () => 'short1'],
    ['a common password', () => 'qwerty123'],
    ['the email', (email) => email],
    ['257 characters', () => 'x'.repeat(128) + 'y'.repeat(129)],
  ])('answers WEAK_PASSWORD when the new password is %s and leaves the password unchanged', async (_, newPassword) => {
    const user = await signUp(app);
    const other = await signIn(app, user.email);
    const hash = await passwordHashOf(user.userId);
    expectCode(await changePassword(user.accessToken, PASSWORD, newPassword(user.email)), 'WEAK_PASSWORD');
    await expectUnchanged(user, hash, newPassword(user.email));
    expectOk(await me(app, other.accessToken));
  });

  it('returns true; the calling session keeps working and every other session of the user is refused', async () => {
    const user = await signUp(app);
    const second = await signIn(app, user.email);
    const third = await signIn(app, user.email);
    const bystander = await signUp(app);
    expect(expectOk(await changePassword(user.accessToken, PASSWORD, NEW_PASSWORD)).changePassword).toBe(true);

    expectOk(await me(app, user.accessToken));
    const rotated = expectOk(await refresh(app, user.refreshToken)).refreshToken;
    expectOk(await me(app, rotated.accessToken));
    for (const session of [second, third]) {
      expectCode(await me(app, session.accessToken), 'UNAUTHENTICATED');
      expectCode(await refresh(app, session.refreshToken), 'INVALID_TOKEN');
    }
    expectOk(await me(app, bystander.accessToken));
    expectOk(await refresh(app, bystander.refreshToken));
  });

  it('refuses the old password and accepts the new one at login afterwards', async () => {
    const user = await signUp(app);
    expectOk(await changePassword(user.accessToken, PASSWORD, NEW_PASSWORD));
    expectCode(await login(app, user.email, PASSWORD), 'INVALID_CREDENTIALS');
    expect(expectOk(await login(app, user.email, NEW_PASSWORD)).login.user.id).toBe(user.userId);
  });

  it('records password.changed', async () => {
    const user = await signUp(app);
    expectOk(await changePassword(user.accessToken, PASSWORD, NEW_PASSWORD));
    const rows = await auditRows(app, { userId: user.userId, action: 'password.changed' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'SUCCESS', actorId: user.userId });
  });

  it('answers UNAUTHENTICATED without a token, or with a token whose session was ended', async () => {
    expectCode(await changePassword(undefined, PASSWORD, NEW_PASSWORD), 'UNAUTHENTICATED');
    const user = await signUp(app);
    const other = await signIn(app, user.email);
    expectOk(await app.gql(`mutation { logout }`, {}, { token: other.accessToken }));
    expectCode(await changePassword(other.accessToken, PASSWORD, NEW_PASSWORD), 'UNAUTHENTICATED');
    expectOk(await login(app, user.email, PASSWORD));
  });
});
