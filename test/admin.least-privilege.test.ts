import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type Backend } from './support/app.js';
import { auditRows, expectCode, expectOk, login, me, PASSWORD, signIn, signUp, uniqueEmail, type Tokens } from './support/actions.js';
import { latestLinkTo, MANY_PER_RECIPIENT, rateLimits, startMessaging } from './support/messages.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';
const NEW_PASSWORD = 'a takeover passphrase 77';

const UPDATE_USER = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id email name disabled } }`;
const UPSERT_ROLE = `mutation($name: String!, $caps: [String!]!) { upsertRole(name: $name, caps: $caps) { name caps } }`;
const DELETE_ROLE = `mutation($name: String!) { deleteRole(name: $name) }`;
const ROLE_CAPS = `{ roles { name caps } }`;
const ON_USER = {
  deleteUser: `mutation($id: ID!) { deleteUser(id: $id) }`,
  revokeUserSessions: `mutation($id: ID!) { revokeUserSessions(id: $id) }`,
  resetUserMfa: `mutation($id: ID!) { resetUserMfa(id: $id) { id } }`,
  unlockUser: `mutation($id: ID!) { unlockUser(id: $id) }`,
};

async function setup(backend: Backend) {
  const m = await startMessaging(backend, { ADMIN_EMAIL, ADMIN_PASSWORD, RATE_LIMITS: rateLimits(MANY_PER_RECIPIENT) });
  const { app } = m;
  const root = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
  const as = (token: string) => (query: string, variables?: Record<string, unknown>) => app.gql(query, variables, { token });
  const admin = as(root.accessToken);
  return {
    ...m,
    root,
    as,
    admin,
    /** A new account holding `roles` (given by the root admin), signed in. */
    async userWith(...roles: string[]): Promise<Tokens> {
      const user = await signUp(app);
      if (roles.length) expectOk(await admin(UPDATE_USER, { id: user.userId, input: { roles: ['user', ...roles] } }));
      return user;
    },
    role: (name: string, caps: string[]) => admin(UPSERT_ROLE, { name, caps }).then(expectOk),
    /** The account as the root admin sees it. */
    async seen(id: string) {
      return expectOk(await admin(`query($id: ID!) { user(id: $id) { id email name disabled emailVerified roles caps } }`, { id })).user;
    },
  };
}

describe.each(backends())('least privilege for the target of an admin action (%s)', (backend) => {
  let t: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    t = await setup(backend);
    await t.role('helpdesk', ['users:read', 'users:write']);
    await t.role('operator', ['users:read', 'users:write', 'users:delete', 'sessions:revoke']);
    await t.role('auditor', ['audit:read']);
  });
  afterAll(() => t?.close());

  it('regression: users:write cannot take over an admin: updateUser of any field of an account holding more caps is FORBIDDEN and changes nothing', async () => {
    const helper = await t.userWith('helpdesk');
    const as = t.as(helper.accessToken);
    const before = await t.seen(t.root.userId);
    const owned = uniqueEmail('helper.owned');
    for (const input of [{ email: owned }, { name: 'Owned' }, { disabled: true }, { emailVerified: false }]) {
      const result = await as(UPDATE_USER, { id: t.root.userId, input });
      expectCode(result, 'FORBIDDEN');
      expect(result.errors![0]!.message).toMatch(/holds capabilities you do not hold: .*roles:assign/);
    }
    expect(await t.seen(t.root.userId)).toEqual(before);
    // The rest of the takeover finds nothing: the admin's address is unchanged, its session and password still work.
    expectOk(await t.app.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: owned }));
    expect(await t.mailsTo(owned)).toEqual([]);
    expectOk(await me(t.app, t.root.accessToken));
    expectOk(await login(t.app, ADMIN_EMAIL, ADMIN_PASSWORD));
    expect((await auditRows(t.app, { userId: t.root.userId, action: 'admin.user_updated' })).filter((r) => r.actorId === helper.userId)).toEqual([]);
  });

  it('regression: deleteUser, revokeUserSessions, resetUserMfa and unlockUser are FORBIDDEN on an account holding a cap the actor lacks', async () => {
    const operator = await t.userWith('operator');
    const as = t.as(operator.accessToken);
    const otherAdmin = await t.userWith('admin');
    const auditor = await t.userWith('auditor');
    for (const target of [otherAdmin, auditor]) {
      for (const [name, query] of Object.entries(ON_USER)) {
        const result = await as(query, { id: target.userId });
        expectCode(result, 'FORBIDDEN');
        expect(result.errors![0]!.message, name).toMatch(/holds capabilities you do not hold/);
      }
      // Still there, still signed in.
      expect(expectOk(await me(t.app, target.accessToken)).me.id).toBe(target.userId);
    }
    const byOperator = (await auditRows(t.app)).filter((r) => r.actorId === operator.userId && r.userId !== operator.userId);
    expect(byOperator).toEqual([]);
    // A disabled target is no easier: disabling it does not lower what it holds.
    expectOk(await t.admin(UPDATE_USER, { id: auditor.userId, input: { disabled: true } }));
    expectCode(await as(ON_USER.deleteUser, { id: auditor.userId }), 'FORBIDDEN');
    expect((await t.seen(auditor.userId)).id).toBe(auditor.userId);
  });

  it('an actor still acts on accounts whose caps it holds: a plain user and a peer with the same role', async () => {
    const operator = await t.userWith('operator');
    const as = t.as(operator.accessToken);
    for (const target of [await t.userWith(), await t.userWith('operator')]) {
      expect(expectOk(await as(UPDATE_USER, { id: target.userId, input: { name: 'Renamed' } })).updateUser.name).toBe('Renamed');
      for (const name of ['revokeUserSessions', 'resetUserMfa', 'unlockUser', 'deleteUser'] as const) expectOk(await as(ON_USER[name], { id: target.userId }));
      expectCode(await login(t.app, target.email), 'INVALID_CREDENTIALS');
    }
  });

  it('regression: an admin email change voids the links mailed to the old address, even once the address is changed back; the audit row says so', async () => {
    const user = await t.userWith();
    const old = user.email;
    expectOk(await t.app.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: old }));
    expectOk(await t.app.gql(`mutation($e: String!) { requestMagicLink(email: $e) }`, { e: old }));
    expectOk(await t.app.gql(`mutation { requestEmailVerification }`, {}, { token: user.accessToken }));
    const reset = await latestLinkTo(t, old, 'reset-password');
    const magic = await latestLinkTo(t, old, 'magic-link');
    const verify = await latestLinkTo(t, old, 'verify-email');

    const elsewhere = uniqueEmail('moved');
    expectOk(await t.admin(UPDATE_USER, { id: user.userId, input: { email: elsewhere } }));
    expectOk(await t.admin(UPDATE_USER, { id: user.userId, input: { email: old } }));

    expectCode(
      await t.app.gql(`mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`, { t: reset, p: NEW_PASSWORD }),
      'INVALID_TOKEN',
    );
    expectCode(await t.app.gql(`mutation($t: String!) { loginWithMagicLink(token: $t) { accessToken } }`, { t: magic }), 'INVALID_TOKEN');
    expectCode(await t.app.gql(`mutation($t: String!) { verifyEmail(token: $t) }`, { t: verify }), 'INVALID_TOKEN');
    expectCode(await login(t.app, old, NEW_PASSWORD), 'INVALID_CREDENTIALS');
    expectOk(await login(t.app, old, PASSWORD));

    const changes = (await auditRows(t.app, { userId: user.userId, action: 'admin.user_updated' })).filter((r) =>
      (r.metadata as { fields?: string[] })?.fields?.includes('email'),
    );
    expect(changes.map((r) => (r.metadata as { voidedLinks?: string[] }).voidedLinks)).toEqual([['email_verification', 'magic_link', 'password_reset'], []]);
    for (const row of changes) expect(JSON.stringify(row)).not.toMatch(new RegExp(`${reset}|${magic}|${verify}`));
  });
});

describe.each(backends())('least privilege for roles: a change acts on every holder (%s)', (backend) => {
  let t: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    t = await setup(backend);
    await t.role('role-editor', ['roles:read', 'roles:write', 'users:read']);
  });
  afterAll(() => t?.close());

  const capsOf = async (name: string) =>
    (expectOk(await t.admin(ROLE_CAPS)).roles as Array<{ name: string; caps: string[] }>).find((r) => r.name === name)?.caps;

  it('regression: upsertRole cannot remove caps the actor does not hold from a role (FORBIDDEN, the role and its holders unchanged)', async () => {
    await t.role('watchers', ['audit:read', 'users:read']);
    const holder = await t.userWith('watchers');
    const editor = t.as((await t.userWith('role-editor')).accessToken);
    const result = await editor(UPSERT_ROLE, { name: 'watchers', caps: ['users:read'] });
    expectCode(result, 'FORBIDDEN');
    expect(result.errors![0]!.message).toMatch(/The role watchers holds capabilities you do not hold: audit:read/);
    expectCode(await editor(UPSERT_ROLE, { name: 'watchers', caps: [] }), 'FORBIDDEN');
    expectCode(await editor(DELETE_ROLE, { name: 'watchers' }), 'FORBIDDEN');
    expect(await capsOf('watchers')).toEqual(['audit:read', 'users:read']);
    expect(expectOk(await me(t.app, holder.accessToken)).me.caps).toEqual(['audit:read', 'users:read']);
  });

  it('a role whose caps the actor holds before and after can be changed and deleted', async () => {
    await t.role('readers', ['users:read', 'roles:read']);
    const editor = t.as((await t.userWith('role-editor')).accessToken);
    expect(expectOk(await editor(UPSERT_ROLE, { name: 'readers', caps: ['users:read'] })).upsertRole.caps).toEqual(['users:read']);
    expectCode(await editor(UPSERT_ROLE, { name: 'readers', caps: ['users:read', 'audit:read'] }), 'FORBIDDEN');
    expect(expectOk(await editor(DELETE_ROLE, { name: 'readers' })).deleteRole).toBe(true);
    expect(await capsOf('readers')).toBeUndefined();
  });
});
