import { beforeAll, describe, expect, it } from 'vitest';
import { backends, type GqlResult, useTestApp, type TestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, me, signIn, uniqueEmail, type Tokens } from './support/actions.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';
const STRONG = 'a second admin passphrase 58';

const UPDATE_USER = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }`;
const DELETE_USER = `mutation($id: ID!) { deleteUser(id: $id) }`;
const DELETE_ACCOUNT = `mutation($p: String!) { deleteAccount(password: $p) }`;
const ENABLED_ADMINS = `{ users(filter: { role: "admin", disabled: false }) { totalCount nodes { id } } }`;

async function setup(app: TestApp) {
  const root = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
  const as = (who: Tokens) => (query: string, variables?: Record<string, unknown>) => app.gql(query, variables, { token: who.accessToken });
  return {
    app,
    root,
    as,
    /** A new enabled admin made by `by`, signed in. */
    async newAdmin(by: Tokens, password = STRONG): Promise<Tokens> {
      const email = uniqueEmail('admin');
      expectOk(await as(by)(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { email, password, roles: ['admin'] } }));
      return signIn(app, email, password);
    },
    async enabledAdmins(who: Tokens): Promise<string[]> {
      return expectOk(await as(who)(ENABLED_ADMINS)).users.nodes.map((n: { id: string }) => n.id);
    },
  };
}

/** Of two answers, exactly one succeeded and the other was refused: its code. */
function oneWinner(results: [GqlResult, GqlResult]): { winner: 0 | 1; refusedWith: string } {
  const ok = results.map((r) => r.errors === undefined);
  expect(ok.filter(Boolean), JSON.stringify(results.map((r) => r.errors))).toHaveLength(1);
  const winner = ok[0] ? 0 : 1;
  return { winner, refusedWith: results[1 - winner]!.errors![0]!.extensions.code };
}

describe.each(backends())('the last enabled admin, on every path and under concurrency (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  let t: Awaited<ReturnType<typeof setup>>;
  /** The one enabled admin between rounds. */
  let current: Tokens;
  beforeAll(async () => {
    t = await setup(app);
    current = t.root;
  });

  it("regression: the only admin's deleteAccount is refused (BAD_USER_INPUT) and the account stays intact", async () => {
    expect(await t.enabledAdmins(t.root)).toEqual([t.root.userId]);
    const result = await t.as(t.root)(DELETE_ACCOUNT, { p: ADMIN_PASSWORD });
    expectCode(result, 'BAD_USER_INPUT');
    expect(result.errors![0]!.message).toMatch(/last enabled admin/);
    expect(expectOk(await me(t.app, t.root.accessToken)).me.roles).toEqual(['admin', 'user']);
    expect((await signIn(t.app, ADMIN_EMAIL, ADMIN_PASSWORD)).userId).toBe(t.root.userId);
    expect(await auditRows(t.app, { userId: t.root.userId, action: 'user.deleted' })).toEqual([]);
  });

  const mutual: Array<[string, (target: Tokens) => [string, Record<string, unknown>]]> = [
    ['demote', (target) => [UPDATE_USER, { id: target.userId, input: { roles: ['user'] } }]],
    ['disable', (target) => [UPDATE_USER, { id: target.userId, input: { disabled: true } }]],
    ['delete', (target) => [DELETE_USER, { id: target.userId }]],
  ];
  it.each(mutual)('regression: two admins who %s each other at the same moment: exactly one succeeds, one enabled admin remains', async (_, change) => {
    const a = current;
    const b = await t.newAdmin(a);
    expect((await t.enabledAdmins(a)).sort()).toEqual([a.userId, b.userId].sort());
    const { winner, refusedWith } = oneWinner(await Promise.all([t.as(a)(...change(b)), t.as(b)(...change(a))]));
    expect(['FORBIDDEN', 'BAD_USER_INPUT', 'UNAUTHENTICATED']).toContain(refusedWith);
    const survivor = winner === 0 ? a : b;
    expect(await t.enabledAdmins(survivor)).toEqual([survivor.userId]);
    // The next round starts from the survivor.
    current = survivor;
  });

  it('regression: two admins deleting their own accounts at the same moment: exactly one succeeds, one enabled admin remains', async () => {
    const a = current;
    const b = await t.newAdmin(a);
    const passwordOf = (who: Tokens) => (who.email === ADMIN_EMAIL ? ADMIN_PASSWORD : STRONG);
    const { winner, refusedWith } = oneWinner(
      (await Promise.all([a, b].map((who) => t.as(who)(DELETE_ACCOUNT, { p: passwordOf(who) })))) as [GqlResult, GqlResult],
    );
    expect(refusedWith).toBe('BAD_USER_INPUT');
    const survivor = winner === 0 ? b : a;
    expect(await t.enabledAdmins(survivor)).toEqual([survivor.userId]);
  });
});
