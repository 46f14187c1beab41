import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, signIn, signUp } from './support/actions.js';
import { backends, createShared, createTestApp, type TestApp } from './support/app.js';
import { recordStatements } from './support/statements.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';
const USERS = `query($first: Int) { users(first: $first) { nodes { id roles caps } } }`;

describe.each(backends())('roles and caps of a user list (%s)', (backend) => {
  let app: TestApp;
  let token: string;
  beforeAll(async () => {
    app = await createTestApp(await createShared(backend), { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
    for (let i = 0; i < 12; i++) await signUp(app);
    token = (await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
  });
  afterAll(() => app?.close());

  /** The statements that read role memberships while listing `first` users with roles and caps. */
  async function roleReads(first: number) {
    const recorder = recordStatements(app);
    try {
      const { nodes } = expectOk(await app.gql(USERS, { first }, { token })).users as { nodes: Array<{ id: string; roles: string[]; caps: string[] }> };
      return { nodes, reads: recorder.statements.filter((sql) => sql.includes('"user_roles"')) };
    } finally {
      recorder.stop();
    }
  }

  it('regression: users(first: 100) { nodes { roles caps } } reads every listed user’s access in one query', async () => {
    // The caller's own access (the users:read check) is read on the first request only (roles/access-cache.ts).
    expect((await roleReads(1)).reads).toHaveLength(2);
    const one = await roleReads(1);
    const many = await roleReads(100);
    expect(many.nodes.length).toBeGreaterThanOrEqual(13);
    // Then one batch for the page, whatever its size.
    expect(one.reads).toHaveLength(1);
    expect(many.reads).toHaveLength(1);
    const admin = many.nodes.find((n) => n.roles.includes('admin'));
    expect(admin?.caps).toContain('users:read');
    expect(many.nodes.filter((n) => !n.roles.includes('admin')).every((n) => n.roles.join() === 'user' && n.caps.length === 0)).toBe(true);
  });
});
