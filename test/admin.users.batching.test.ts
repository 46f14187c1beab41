import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, signIn, signUp } from './support/actions.js';
import { backends, createShared, createTestApp, type TestApp } from './support/app.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';
const USERS = `query($first: Int) { users(first: $first) { nodes { id roles caps } } }`;

/**
 * Records the SQL each statement sends, at the driver under drizzle (postgres.js `unsafe`,
 * PGlite `query`), prepared statements included.
 */
function recordStatements(app: TestApp): { statements: string[]; stop(): void } {
  const client = (app.deps.db as unknown as { $client: Record<string, (...args: unknown[]) => unknown> }).$client;
  const method = app.deps.database.kind === 'postgres' ? 'unsafe' : 'query';
  const original = client[method]!;
  const statements: string[] = [];
  client[method] = function (this: unknown, ...args: unknown[]) {
    statements.push(String(args[0]));
    return original.apply(this, args);
  };
  return { statements, stop: () => void (client[method] = original) };
}

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
    const one = await roleReads(1);
    const many = await roleReads(100);
    expect(many.nodes.length).toBeGreaterThanOrEqual(13);
    // The caller's own access (the users:read check) and one batch for the page, whatever its size.
    expect(one.reads).toHaveLength(2);
    expect(many.reads).toHaveLength(2);
    const admin = many.nodes.find((n) => n.roles.includes('admin'));
    expect(admin?.caps).toContain('users:read');
    expect(many.nodes.filter((n) => !n.roles.includes('admin')).every((n) => n.roles.join() === 'user' && n.caps.length === 0)).toBe(true);
  });
});
