import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, expectOk, signIn, signUp, type Tokens } from './support/actions.js';
import { backends, createShared, createTestApp, createTestClock, type TestApp } from './support/app.js';
import { recordStatements } from './support/statements.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';
/** Needs users:read: the caller's caps decide it (a cap scope, ctx.access()). */
const LIST = 'query { users(first: 1) { nodes { id } } }';
const UPSERT_ROLE = 'mutation($name: String!, $caps: [String!]!) { upsertRole(name: $name, caps: $caps) { name } }';
const UPDATE_USER = 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }';

/**
 * The caller's effective caps are cached per instance (roles/access-cache.ts). A change of a
 * role, of a user's roles or of direct grants, made on one instance, must count on the very
 * next request on the other one: no waiting for a message, no expiry to run out.
 */
describe.each(backends())('cached caps across two instances (%s)', (backend) => {
  let a: TestApp;
  let b: TestApp;
  let admin: string;
  let user: Tokens;
  beforeAll(async () => {
    const shared = await createShared(backend);
    const clock = createTestClock();
    const env = { ADMIN_EMAIL, ADMIN_PASSWORD };
    a = await createTestApp(shared, { clock, env });
    b = await createTestApp(shared, { clock, env, peer: backend === 'embedded' ? a : undefined });
    admin = (await signIn(a, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
    user = await signUp(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const listOn = async (app: TestApp) => codeOf(await app.gql(LIST, {}, { token: user.accessToken }));
  const asAdmin = async (query: string, variables: Record<string, unknown>) => expectOk(await a.gql(query, variables, { token: admin }));

  it("regression: a caller's caps are read from the database once, not on every request", async () => {
    await b.gql(LIST, {}, { token: admin });
    const recorder = recordStatements(b);
    try {
      for (let i = 0; i < 3; i++) expectOk(await b.gql(LIST, {}, { token: admin }));
    } finally {
      recorder.stop();
    }
    // The page itself is read each time; the caller's roles and caps (the user_roles join) never again.
    expect(recorder.statements.filter((sql) => sql.includes('"users"')).length).toBeGreaterThanOrEqual(3);
    expect(recorder.statements.filter((sql) => sql.includes('"user_roles"'))).toHaveLength(0);
  });

  it("a role's caps, a user's roles and direct grants, changed on one instance, count on the other's next request", async () => {
    await asAdmin(UPSERT_ROLE, { name: 'viewer', caps: [] });
    await asAdmin(UPDATE_USER, { id: user.userId, input: { roles: ['user', 'viewer'] } });
    expect(await listOn(b)).toBe('FORBIDDEN'); // cached on b without users:read

    await asAdmin(UPSERT_ROLE, { name: 'viewer', caps: ['users:read'] });
    expect(await listOn(b)).toBeNull(); // the role gained the cap
    await asAdmin(UPSERT_ROLE, { name: 'viewer', caps: [] });
    expect(await listOn(b)).toBe('FORBIDDEN'); // and lost it

    await asAdmin(UPDATE_USER, { id: user.userId, input: { caps: ['users:read'] } });
    expect(await listOn(b)).toBeNull(); // a direct grant
    await asAdmin(UPDATE_USER, { id: user.userId, input: { caps: [] } });
    expect(await listOn(b)).toBe('FORBIDDEN'); // taken back

    await asAdmin(UPSERT_ROLE, { name: 'viewer', caps: ['users:read'] });
    expect(await listOn(b)).toBeNull();
    await asAdmin(UPDATE_USER, { id: user.userId, input: { roles: ['user'] } });
    expect(await listOn(b)).toBe('FORBIDDEN'); // the role taken away
    await asAdmin(UPDATE_USER, { id: user.userId, input: { roles: ['user', 'viewer'] } });
    expect(await listOn(b)).toBeNull();
    expectOk(await a.gql('mutation { deleteRole(name: "viewer") }', {}, { token: admin }));
    expect(await listOn(b)).toBe('FORBIDDEN'); // the role deleted
    expect(await listOn(a)).toBe('FORBIDDEN');
  });

  it('a store that lost the epoch (a Redis restart) voids every cached answer', async () => {
    await asAdmin(UPDATE_USER, { id: user.userId, input: { caps: ['users:read'] } });
    expect(await listOn(b)).toBeNull();
    // The grant goes away behind the cache's back, as after a restore, and the epoch with it.
    const db = b.deps.db as unknown as { execute(q: unknown): Promise<unknown> };
    const { sql } = await import('drizzle-orm');
    await db.execute(sql`update users set caps = '{}' where id = ${user.userId}`);
    await b.deps.store.codes.delete('access-epoch');
    expect(await listOn(b)).toBe('FORBIDDEN');
  });
});
