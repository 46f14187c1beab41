import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp, type TestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, login, me, PASSWORD, refresh, signIn, signUp, uniqueEmail } from './support/actions.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';
const STRONG = 'a fine long password 77';

const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id email name roles caps disabled emailVerified } }`;
const UPDATE_USER = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id email roles caps disabled } }`;
const DELETE_USER = `mutation($id: ID!) { deleteUser(id: $id) }`;
const REVOKE = `mutation($id: ID!) { revokeUserSessions(id: $id) }`;
const USER = `query($id: ID!) { user(id: $id) { id email } }`;

/** A fresh app whose ADMIN_* settings made an admin, signed in, and actions as that admin. */
async function setup(app: TestApp) {
  const admin = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
  const asAdmin = (query: string, variables?: Record<string, unknown>, token = admin.accessToken) => app.gql(query, variables, { token });
  return {
    app,
    admin,
    asAdmin,
    createUser: (input: Record<string, unknown>, token?: string) => asAdmin(CREATE_USER, { input: { email: uniqueEmail(), ...input } }, token),
    updateUser: (id: string, input: Record<string, unknown>, token?: string) => asAdmin(UPDATE_USER, { id, input }, token),
  };
}

describe.each(backends())('admin manages users (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  let t: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    t = await setup(app);
  });

  it('createUser with a password: the user can sign in; audited as admin.user_created with the actor', async () => {
    const email = uniqueEmail('made');
    const user = expectOk(await t.createUser({ email, password: STRONG, name: 'Made Here' })).createUser;
    expect(user).toMatchObject({ email, name: 'Made Here', roles: ['user'], caps: [], disabled: false, emailVerified: false });
    expect((await signIn(t.app, email, STRONG)).userId).toBe(user.id);
    const rows = await auditRows(t.app, { userId: user.id, action: 'admin.user_created' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actorId: t.admin.userId, outcome: 'SUCCESS' });
    expect(JSON.stringify(rows[0])).not.toContain(STRONG);
  });

  it('createUser refuses a weak password (WEAK_PASSWORD) and creates nobody', async () => {
    const email = uniqueEmail('weak');
    expectCode(await t.createUser({ email, password: 'password' }), 'WEAK_PASSWORD');
    expectOk(await t.createUser({ email }));
  });

  it('createUser without a password: login answers INVALID_CREDENTIALS', async () => {
    const user = expectOk(await t.createUser({})).createUser;
    expectCode(await login(t.app, user.email, ''), 'INVALID_CREDENTIALS');
    expectCode(await login(t.app, user.email, STRONG), 'INVALID_CREDENTIALS');
  });

  it('createUser with a taken email (any case) is EMAIL_TAKEN', async () => {
    const taken = await signUp(t.app);
    expectCode(await t.createUser({ email: taken.email.toUpperCase(), password: STRONG }), 'EMAIL_TAKEN');
    expectOk(await login(t.app, taken.email));
  });

  it('disabled: true ends every session at once; login then gets ACCOUNT_DISABLED only with the right password', async () => {
    const user = await signUp(t.app);
    const second = await signIn(t.app, user.email);
    expect(expectOk(await t.updateUser(user.userId, { disabled: true })).updateUser.disabled).toBe(true);
    for (const s of [user, second]) {
      expectCode(await me(t.app, s.accessToken), 'UNAUTHENTICATED');
      expectCode(await refresh(t.app, s.refreshToken), 'INVALID_TOKEN');
    }
    expectCode(await login(t.app, user.email, 'a wrong password here'), 'INVALID_CREDENTIALS');
    expectCode(await login(t.app, user.email, PASSWORD), 'ACCOUNT_DISABLED');
    const rows = await auditRows(t.app, { userId: user.userId, action: 'admin.user_updated' });
    expect(rows.at(-1)).toMatchObject({ actorId: t.admin.userId });

    expect(expectOk(await t.updateUser(user.userId, { disabled: false })).updateUser.disabled).toBe(false);
    const back = await signIn(t.app, user.email);
    expect(expectOk(await me(t.app, back.accessToken)).me.disabled).toBe(false);
  });

  it('changes the email (EMAIL_TAKEN when another account has it)', async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    expectCode(await t.updateUser(user.userId, { email: other.email.toUpperCase() }), 'EMAIL_TAKEN');
    const fresh = uniqueEmail('moved');
    expect(expectOk(await t.updateUser(user.userId, { email: fresh })).updateUser.email).toBe(fresh);
    expect((await signIn(t.app, fresh)).userId).toBe(user.userId);
    expectCode(await login(t.app, user.email), 'INVALID_CREDENTIALS');
  });

  it("a roles change shows in the target's me { roles caps } on their very next request", async () => {
    const user = await signUp(t.app);
    expectOk(await t.asAdmin(`mutation { upsertRole(name: "viewer", caps: ["users:read"]) { name } }`));
    expectOk(await t.updateUser(user.userId, { roles: ['user', 'viewer'] }));
    expect(expectOk(await me(t.app, user.accessToken)).me).toMatchObject({ roles: ['user', 'viewer'], caps: ['users:read'] });
    expectOk(await t.app.gql(USER, { id: t.admin.userId }, { token: user.accessToken }));
    expectOk(await t.updateUser(user.userId, { roles: ['user'] }));
    expect(expectOk(await me(t.app, user.accessToken)).me).toMatchObject({ roles: ['user'], caps: [] });
    expectCode(await t.app.gql(USER, { id: t.admin.userId }, { token: user.accessToken }), 'FORBIDDEN');
  });

  it('updateUser on oneself returns the roles and caps just set, not those read for the authorization check', async () => {
    const other = expectOk(await t.createUser({ password: STRONG, roles: ['admin'] })).createUser;
    const self = await signIn(t.app, other.email, STRONG);
    expectOk(await t.asAdmin(`mutation { upsertRole(name: "reader", caps: ["users:read"]) { name } }`));
    const updated = expectOk(await t.updateUser(other.id, { roles: ['user', 'reader'] }, self.accessToken)).updateUser;
    expect(updated).toMatchObject({ roles: ['reader', 'user'], caps: ['users:read'] });
  });

  it("deleteUser: the user's tokens are refused, login fails, admin.user_deleted is audited", async () => {
    const user = await signUp(t.app);
    expect(expectOk(await t.asAdmin(DELETE_USER, { id: user.userId })).deleteUser).toBe(true);
    expectCode(await me(t.app, user.accessToken), 'UNAUTHENTICATED');
    // mySessions reads the session store only: it is refused because the sessions are gone, not just the row.
    expectCode(await t.app.gql(`{ mySessions { id } }`, {}, { token: user.accessToken }), 'UNAUTHENTICATED');
    expectCode(await refresh(t.app, user.refreshToken), 'INVALID_TOKEN');
    expectCode(await login(t.app, user.email), 'INVALID_CREDENTIALS');
    expect(expectOk(await t.asAdmin(USER, { id: user.userId })).user).toBeNull();
    const rows = await auditRows(t.app, { userId: user.userId, action: 'admin.user_deleted' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actorId: t.admin.userId });
    expectCode(await t.asAdmin(DELETE_USER, { id: user.userId }), 'NOT_FOUND');
    expectCode(await t.asAdmin(DELETE_USER, { id: randomUUID() }), 'NOT_FOUND');
  });

  it('revokeUserSessions: every session is refused, the user may sign in again, admin.sessions_revoked is audited', async () => {
    const user = await signUp(t.app);
    const second = await signIn(t.app, user.email);
    const bystander = await signUp(t.app);
    expect(expectOk(await t.asAdmin(REVOKE, { id: user.userId })).revokeUserSessions).toBe(true);
    for (const s of [user, second]) {
      expectCode(await me(t.app, s.accessToken), 'UNAUTHENTICATED');
      expectCode(await refresh(t.app, s.refreshToken), 'INVALID_TOKEN');
    }
    expectOk(await me(t.app, bystander.accessToken));
    expectOk(await me(t.app, (await signIn(t.app, user.email)).accessToken));
    const rows = await auditRows(t.app, { userId: user.userId, action: 'admin.sessions_revoked' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actorId: t.admin.userId });
    expectCode(await t.asAdmin(REVOKE, { id: randomUUID() }), 'NOT_FOUND');
  });
});

describe.each(backends())('the last enabled admin (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  let t: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    t = await setup(app);
  });

  it('cannot be disabled, demoted or deleted while alone; can once a second enabled admin exists', async () => {
    const a = t.admin.userId;
    expectCode(await t.updateUser(a, { disabled: true }), 'BAD_USER_INPUT');
    expectCode(await t.updateUser(a, { roles: ['user'] }), 'BAD_USER_INPUT');
    expectCode(await t.asAdmin(DELETE_USER, { id: a }), 'BAD_USER_INPUT');
    expect(expectOk(await me(t.app, t.admin.accessToken)).me).toMatchObject({ disabled: false, roles: ['admin', 'user'] });

    const b = expectOk(await t.createUser({ password: STRONG, roles: ['admin'] })).createUser;
    // A disabled admin does not count: disabling B leaves A alone again.
    expectOk(await t.updateUser(b.id, { disabled: true }));
    expectCode(await t.asAdmin(DELETE_USER, { id: a }), 'BAD_USER_INPUT');
    expectOk(await t.updateUser(b.id, { disabled: false }));

    expectOk(await t.updateUser(a, { roles: ['user'] }));
    expect(expectOk(await me(t.app, t.admin.accessToken)).me.roles).toEqual(['user']);
    const asB = (await signIn(t.app, b.email, STRONG)).accessToken;
    expectCode(await t.updateUser(b.id, { roles: ['user'] }, asB), 'BAD_USER_INPUT');
    const c = expectOk(await t.createUser({ roles: ['admin'] }, asB)).createUser;
    expect(expectOk(await t.asAdmin(DELETE_USER, { id: c.id }, asB)).deleteUser).toBe(true);
    expectCode(await t.asAdmin(DELETE_USER, { id: b.id }, asB), 'BAD_USER_INPUT');
    expectCode(await t.updateUser(b.id, { disabled: true }, asB), 'BAD_USER_INPUT');
  });
});
