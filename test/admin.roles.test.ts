import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createShared, createTestApp, createTestClock, type TestApp, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, me, signIn, signUp, uniqueEmail, type Tokens } from './support/actions.js';
import { CATALOGUE } from './support/caps.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';
const ADMIN_ENV = { ADMIN_EMAIL, ADMIN_PASSWORD };

const ROLES = `{ roles { name description caps builtin } }`;
const UPSERT_ROLE = `mutation($name: String!, $caps: [String!]!, $description: String) { upsertRole(name: $name, caps: $caps, description: $description) { name caps builtin } }`;
const DELETE_ROLE = `mutation($name: String!) { deleteRole(name: $name) }`;
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id email roles caps } }`;
const UPDATE_USER = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }`;
const USERS = `{ users { totalCount } }`;

/** Admin actions, plus a user given `roles` by the admin (the grant an admin makes through the API). */
function actions(app: TestApp, adminToken: string) {
  const as = (token: string) => (query: string, variables?: Record<string, unknown>) => app.gql(query, variables, { token });
  const admin = as(adminToken);
  return {
    as,
    admin,
    upsertRole: async (name: string, caps: string[]) => expectOk(await admin(UPSERT_ROLE, { name, caps })).upsertRole,
    roleNames: async (): Promise<string[]> => expectOk(await admin(ROLES)).roles.map((r: { name: string }) => r.name),
    async userWith(roles: string[]): Promise<Tokens> {
      const user = await signUp(app);
      expectOk(await admin(UPDATE_USER, { id: user.userId, input: { roles: ['user', ...roles] } }));
      return user;
    },
  };
}

async function setup(app: TestApp) {
  const adminTokens = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
  return { app, adminTokens, ...actions(app, adminTokens.accessToken) };
}

describe.each(backends())('roles and caps (%s)', (backend) => {
  const app = useTestApp(backend, { env: ADMIN_ENV });
  let t: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    t = await setup(app);
  });

  it('lists the built-in user (no caps) and admin (every cap) roles', async () => {
    const roles = expectOk(await t.admin(ROLES)).roles;
    expect(roles.find((r: { name: string }) => r.name === 'user')).toMatchObject({ builtin: true, caps: [] });
    const admin = roles.find((r: { name: string }) => r.name === 'admin');
    expect(admin).toMatchObject({ builtin: true });
    expect([...admin.caps].sort()).toEqual([...CATALOGUE].sort());
  });

  it('a custom role grants exactly its caps: support = [users:read]', async () => {
    expect(await t.upsertRole('support', ['users:read'])).toEqual({ name: 'support', caps: ['users:read'], builtin: false });
    const user = await t.userWith(['support']);
    const as = t.as(user.accessToken);
    expect(expectOk(await me(t.app, user.accessToken)).me).toMatchObject({ roles: ['support', 'user'], caps: ['users:read'] });
    expect(expectOk(await as(USERS)).users.totalCount).toBeGreaterThanOrEqual(2);
    expectOk(await as(`{ usersOverview { total } }`));
    expect(expectOk(await as(`query($id: ID!) { user(id: $id) { email } }`, { id: t.adminTokens.userId })).user.email).toBe(ADMIN_EMAIL);
    const refused: Array<[string, Record<string, unknown>?]> = [
      [ROLES],
      [CREATE_USER, { input: { email: uniqueEmail() } }],
      [UPDATE_USER, { id: t.adminTokens.userId, input: { name: 'x' } }],
      [`mutation($id: ID!) { deleteUser(id: $id) }`, { id: t.adminTokens.userId }],
      [`mutation($id: ID!) { revokeUserSessions(id: $id) }`, { id: t.adminTokens.userId }],
      [`mutation($id: ID!) { unlockUser(id: $id) }`, { id: t.adminTokens.userId }],
      [UPSERT_ROLE, { name: 'support', caps: ['users:read'] }],
      [DELETE_ROLE, { name: 'support' }],
      [`{ analytics { registrations } }`],
    ];
    for (const [query, variables] of refused) expectCode(await as(query, variables), 'FORBIDDEN');

    const claims = decodeJwt((await signIn(t.app, user.email)).accessToken);
    expect(claims.roles).toEqual(['support', 'user']);
    expect(claims.scope).toBe('users:read');
  });

  it("changing a role's caps counts for its holders on their next request", async () => {
    await t.upsertRole('triage', ['users:read']);
    const user = await t.userWith(['triage']);
    await t.upsertRole('triage', ['roles:read']);
    expect(expectOk(await me(t.app, user.accessToken)).me.caps).toEqual(['roles:read']);
    expectCode(await t.as(user.accessToken)(USERS), 'FORBIDDEN');
    expectOk(await t.as(user.accessToken)(ROLES));
  });

  it('refuses unknown caps, bad role names, redefining admin and deleting built-in roles (BAD_USER_INPUT)', async () => {
    expectCode(await t.admin(UPSERT_ROLE, { name: 'ghost', caps: ['users:read', 'users:fly'] }), 'BAD_USER_INPUT');
    for (const name of ['Support', 'a', '9lives', 'has space', 'x'.repeat(41), '']) {
      expectCode(await t.admin(UPSERT_ROLE, { name, caps: [] }), 'BAD_USER_INPUT');
    }
    expectCode(await t.admin(UPSERT_ROLE, { name: 'admin', caps: ['users:read'] }), 'BAD_USER_INPUT');
    expectCode(await t.admin(DELETE_ROLE, { name: 'user' }), 'BAD_USER_INPUT');
    expectCode(await t.admin(DELETE_ROLE, { name: 'admin' }), 'BAD_USER_INPUT');
    expectCode(await t.admin(CREATE_USER, { input: { email: uniqueEmail(), caps: ['users:fly'] } }), 'BAD_USER_INPUT');
    expectCode(await t.admin(CREATE_USER, { input: { email: uniqueEmail(), roles: ['no-such-role'] } }), 'BAD_USER_INPUT');
    const names = await t.roleNames();
    expect(names).not.toContain('ghost');
    expect(names).toEqual(expect.arrayContaining(['admin', 'user']));
    const admin = expectOk(await t.admin(ROLES)).roles.find((r: { name: string }) => r.name === 'admin');
    expect(admin.caps).toHaveLength(CATALOGUE.length);
  });

  it('deleteRole of an unknown role is NOT_FOUND', async () => {
    expectCode(await t.admin(DELETE_ROLE, { name: 'never-made' }), 'NOT_FOUND');
  });

  it('deleting a custom role removes its caps from its holders at once; role.upserted and role.deleted carry the actor', async () => {
    await t.upsertRole('temp', ['users:read']);
    const user = await t.userWith(['temp']);
    expectOk(await t.as(user.accessToken)(USERS));
    expect(expectOk(await t.admin(DELETE_ROLE, { name: 'temp' })).deleteRole).toBe(true);
    expectCode(await t.as(user.accessToken)(USERS), 'FORBIDDEN');
    expect(expectOk(await me(t.app, user.accessToken)).me).toMatchObject({ roles: ['user'], caps: [] });
    expect(await t.roleNames()).not.toContain('temp');

    const upserted = (await auditRows(t.app, { action: 'role.upserted' })).filter((r) => r.metadata?.role === 'temp');
    const deleted = (await auditRows(t.app, { action: 'role.deleted' })).filter((r) => r.metadata?.role === 'temp');
    expect(upserted).toHaveLength(1);
    expect(deleted).toHaveLength(1);
    for (const row of [...upserted, ...deleted]) expect(row).toMatchObject({ actorId: t.adminTokens.userId, outcome: 'SUCCESS' });
  });
});

describe.each(backends())('least privilege (%s)', (backend) => {
  const app = useTestApp(backend, { env: ADMIN_ENV });
  let t: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    t = await setup(app);
  });

  it('a delegate can only create roles and grant caps that they hold themselves', async () => {
    await t.upsertRole('delegate', ['roles:write', 'roles:read', 'users:write', 'roles:assign']);
    const delegate = await t.userWith(['delegate']);
    const as = t.as(delegate.accessToken);
    const target = await signUp(t.app);

    expectCode(await as(UPSERT_ROLE, { name: 'spy', caps: ['audit:read'] }), 'FORBIDDEN');
    expectCode(await as(UPSERT_ROLE, { name: 'delegate', caps: ['roles:write', 'roles:read', 'users:write', 'roles:assign', 'audit:read'] }), 'FORBIDDEN');
    for (const input of [{ roles: ['user', 'admin'] }, { caps: ['audit:read'] }]) {
      expectCode(await as(UPDATE_USER, { id: target.userId, input }), 'FORBIDDEN');
      expectCode(await as(UPDATE_USER, { id: delegate.userId, input }), 'FORBIDDEN');
    }
    const refusedEmail = uniqueEmail('escalated');
    expectCode(await as(CREATE_USER, { input: { email: refusedEmail, roles: ['admin'] } }), 'FORBIDDEN');
    expect(await t.roleNames()).not.toContain('spy');
    for (const s of [target, delegate]) expect(expectOk(await me(t.app, s.accessToken)).me.caps).not.toContain('audit:read');
    expect(expectOk(await t.admin(`query($s: String) { users(filter: { search: $s }) { totalCount } }`, { s: refusedEmail })).users.totalCount).toBe(0);

    expect(expectOk(await as(UPSERT_ROLE, { name: 'helper', caps: ['roles:read'] })).upsertRole.caps).toEqual(['roles:read']);
    expectOk(await as(UPDATE_USER, { id: target.userId, input: { roles: ['user', 'helper'] } }));
    expect(expectOk(await me(t.app, target.accessToken)).me.caps).toEqual(['roles:read']);

    const claims = decodeJwt((await signIn(t.app, delegate.email)).accessToken);
    expect(claims.roles).toEqual(['delegate', 'user']);
    expect(String(claims.scope).split(' ').sort()).toEqual(['roles:assign', 'roles:read', 'roles:write', 'users:write']);
  });

  it('users:write without roles:assign creates users, but FORBIDDEN once roles or caps are passed', async () => {
    await t.upsertRole('writer', ['users:write']);
    const writer = await t.userWith(['writer']);
    const as = t.as(writer.accessToken);
    const made = expectOk(await as(CREATE_USER, { input: { email: uniqueEmail() } })).createUser;
    expect(made).toMatchObject({ roles: ['user'], caps: [] });
    const refusedEmail = uniqueEmail('refused');
    expectCode(await as(CREATE_USER, { input: { email: refusedEmail, roles: ['writer'] } }), 'FORBIDDEN');
    expectCode(await as(CREATE_USER, { input: { email: refusedEmail, caps: ['users:write'] } }), 'FORBIDDEN');
    expectCode(await as(UPDATE_USER, { id: made.id, input: { roles: ['user', 'writer'] } }), 'FORBIDDEN');
    expectOk(await as(CREATE_USER, { input: { email: refusedEmail } }));
  });
});

describe.runIf(backends().includes('real'))('role changes across instances (real)', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    // createInstances() with the ADMIN_* settings: one database, one Redis prefix, one clock.
    const shared = await createShared('real');
    const clock = createTestClock();
    a = await createTestApp(shared, { clock, env: ADMIN_ENV });
    b = await createTestApp(shared, { clock, env: ADMIN_ENV });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("a role granted or taken on A counts for the user's next request on B", async () => {
    const onA = actions(a, (await signIn(a, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken);
    const user = await signUp(b);
    const onB = (query: string) => b.gql(query, {}, { token: user.accessToken });
    expectCode(await onB(USERS), 'FORBIDDEN');
    await onA.upsertRole('viewer', ['users:read']);
    expectOk(await onA.admin(UPDATE_USER, { id: user.userId, input: { roles: ['user', 'viewer'] } }));
    expectOk(await onB(USERS));
    await onA.upsertRole('viewer', ['roles:read']);
    expectCode(await onB(USERS), 'FORBIDDEN');
    expectOk(await onB(ROLES));
    expectOk(await onA.admin(DELETE_ROLE, { name: 'viewer' }));
    expectCode(await onB(ROLES), 'FORBIDDEN');
  });
});
