import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateUser } from '../src/modules/users/queries.js';
import { expectOk, PASSWORD, signIn, signUp, type Tokens } from './support/actions.js';
import { backends, createInstances, type TestApp } from './support/app.js';
import { enrollTotp } from './support/mfa.js';
import { recordStatements } from './support/statements.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';
const ME = '{ me { id email name emailVerified mfaEnabled roles caps disabled updatedAt lastLoginAt } }';
const UPDATE_USER = 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }';
const UPSERT_ROLE = 'mutation($name: String!, $caps: [String!]!) { upsertRole(name: $name, caps: $caps) { name } }';

/** The reads of a whole user row by id (users/queries.ts findUserById), not those of roles and caps. */
const rowReads = (statements: string[]) => statements.filter((text) => text.endsWith('from "users" where "users"."id" = $1'));

/**
 * The row `me` shows is cached per instance (users/cache.ts). Every write of it, on one instance
 * and through whichever module, must show on the other instance's very next `me`.
 */
describe.each(backends())('the cached row of me across two instances (%s)', (backend) => {
  let a: TestApp;
  let b: TestApp;
  let admin: string;
  let user: Tokens;
  beforeAll(async () => {
    [a, b] = await createInstances(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
    admin = (await signIn(a, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
    user = await signUp(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const meOn = async (app: TestApp, token = user.accessToken) => expectOk(await app.gql(ME, {}, { token })).me;
  const asAdmin = async (query: string, variables: Record<string, unknown>) => expectOk(await a.gql(query, variables, { token: admin }));

  it('regression: repeated me requests read the user row from the database once', async () => {
    await meOn(b);
    const recorder = recordStatements(b);
    try {
      for (let i = 0; i < 3; i++) expect((await meOn(b)).id).toBe(user.userId);
    } finally {
      recorder.stop();
    }
    expect(rowReads(recorder.statements)).toHaveLength(0);
  });

  it("the caller's own changes (profile, sign-in, a second factor) show on the other instance's next me", async () => {
    await meOn(b);
    expectOk(await a.gql('mutation { updateProfile(input: { name: "Ada" }) { id } }', {}, { token: user.accessToken }));
    expect((await meOn(b)).name).toBe('Ada');

    const before = (await meOn(b)).lastLoginAt;
    a.clock.advance(5_000);
    const again = await signIn(a, user.email);
    expect((await meOn(b, again.accessToken)).lastLoginAt).not.toBe(before);

    expect((await meOn(b)).mfaEnabled).toBe(false);
    await enrollTotp(a, user.accessToken);
    expect((await meOn(b)).mfaEnabled).toBe(true);
  });

  it("an admin's change of the user (email verified, name, roles) shows on the other instance's next me", async () => {
    expect(await meOn(b)).toMatchObject({ emailVerified: false, roles: ['user'] });
    await asAdmin(UPDATE_USER, { id: user.userId, input: { emailVerified: true, name: 'Grace' } });
    expect(await meOn(b)).toMatchObject({ emailVerified: true, name: 'Grace' });
    // Roles and caps are read per request (not kept with the cached row).
    await asAdmin(UPSERT_ROLE, { name: 'viewer', caps: ['users:read'] });
    await asAdmin(UPDATE_USER, { id: user.userId, input: { roles: ['user', 'viewer'] } });
    expect(await meOn(b)).toMatchObject({ roles: ['user', 'viewer'], caps: expect.arrayContaining(['users:read']) });
    await asAdmin(UPDATE_USER, { id: user.userId, input: { roles: ['user'] } });
    expect((await meOn(b)).roles).toEqual(['user']);
  });

  it('a password change shows (updatedAt) on the other instance, and a deleted account is UNAUTHENTICATED there', async () => {
    const other = await signUp(a);
    const before = (await meOn(b, other.accessToken)).updatedAt;
    a.clock.advance(5_000);
    const variables = { c: PASSWORD, n: 'another correct horse battery' };
    expectOk(
      await a.gql('mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }', variables, { token: other.accessToken }),
    );
    expect((await meOn(b, other.accessToken)).updatedAt).not.toBe(before);
    expectOk(await a.gql('mutation($p: String!) { deleteAccount(password: $p) }', { p: variables.n }, { token: other.accessToken }));
    const result = await b.gql(ME, {}, { token: other.accessToken });
    expect(result.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('a store that lost the epoch (a Redis restart) voids the cached row', async () => {
    await meOn(b);
    // The row changes behind the cache's back (as after a restore), and the epoch goes with it.
    const db = b.deps.db as unknown as { execute(q: unknown): Promise<unknown> };
    await db.execute(sql`update users set name = 'Restored' where id = ${user.userId}`);
    await b.deps.store.codes.delete(`user-epoch:${user.userId}`);
    const recorder = recordStatements(b);
    try {
      expect((await meOn(b)).name).toBe('Restored');
    } finally {
      recorder.stop();
    }
    expect(rowReads(recorder.statements)).toHaveLength(1);
  });

  it('a rolled-back write voids nothing: the cached row, which still matches the database, is served', async () => {
    const cached = await meOn(b);
    const recorder = recordStatements(b);
    await expect(
      b.deps.db.transaction(async (tx) => {
        await updateUser(tx, user.userId, { name: 'Never' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    try {
      expect(await meOn(b)).toEqual(cached);
    } finally {
      recorder.stop();
    }
    expect(rowReads(recorder.statements)).toHaveLength(0);
  });
});
