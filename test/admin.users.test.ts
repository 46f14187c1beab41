import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp, type TestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, me, signIn, signUp, uniqueEmail, type Tokens } from './support/actions.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';

const USERS = `query($filter: UserFilter, $first: Int, $after: String) {
  users(filter: $filter, first: $first, after: $after) { totalCount nodes { id email name } pageInfo { hasNextPage endCursor } } }`;
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id email } }`;
const UPSERT_ROLE = `mutation($name: String!, $caps: [String!]!) { upsertRole(name: $name, caps: $caps) { name } }`;
const OVERVIEW = `{ usersOverview { total emailVerified mfaEnabled disabled byRole { role count } registeredLast24h activeLast24h } }`;

type Page = {
  totalCount: number;
  nodes: Array<{ id: string; email: string; name: string | null }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
};

/** A fresh app whose ADMIN_* settings made an admin, signed in, and small actions as that admin. */
async function setup(app: TestApp) {
  const admin = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
  const asAdmin = (query: string, variables?: Record<string, unknown>) => app.gql(query, variables, { token: admin.accessToken });
  return {
    app,
    admin,
    asAdmin,
    createUser: async (input: Record<string, unknown>): Promise<{ id: string; email: string }> =>
      expectOk(await asAdmin(CREATE_USER, { input: { email: uniqueEmail(), ...input } })).createUser,
    list: async (variables: Record<string, unknown>): Promise<Page> => expectOk(await asAdmin(USERS, variables)).users,
  };
}

const ids = (page: Page) => page.nodes.map((n) => n.id).sort();
const cursor = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');

describe.each(backends())('admin fields are refused to plain users (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  let t: Awaited<ReturnType<typeof setup>>;
  let plain: Tokens;
  let other: Tokens;
  beforeAll(async () => {
    t = await setup(app);
    plain = await signUp(t.app);
    other = await signUp(t.app);
    expectOk(await t.asAdmin(UPSERT_ROLE, { name: 'spare', caps: ['users:read'] }));
  });

  // Each call aims at a real target, so a missing check would act instead of failing on a lookup.
  const calls: Array<[string, string, () => Record<string, unknown>]> = [
    ['users', `{ users { totalCount } }`, () => ({})],
    ['user (another id)', `query($id: ID!) { user(id: $id) { id email } }`, () => ({ id: other.userId })],
    ['usersOverview', `{ usersOverview { total } }`, () => ({})],
    ['roles', `{ roles { name } }`, () => ({})],
    ['createUser', CREATE_USER, () => ({ input: { email: `made.by.${plain.userId}@example.com`, password: 'a fine long password 77' } })],
    ['updateUser', `mutation($id: ID!) { updateUser(id: $id, input: { name: "Hacked", disabled: true }) { id } }`, () => ({ id: other.userId })],
    ['deleteUser', `mutation($id: ID!) { deleteUser(id: $id) }`, () => ({ id: other.userId })],
    ['revokeUserSessions', `mutation($id: ID!) { revokeUserSessions(id: $id) }`, () => ({ id: other.userId })],
    ['upsertRole', `mutation { upsertRole(name: "spare", caps: ["users:read", "audit:read"]) { name } }`, () => ({})],
    ['deleteRole', `mutation { deleteRole(name: "spare") }`, () => ({})],
    ['unlockUser', `mutation($id: ID!) { unlockUser(id: $id) }`, () => ({ id: other.userId })],
  ];

  it.each(calls)('%s: FORBIDDEN for a plain user, UNAUTHENTICATED without a token', async (_name, query, vars) => {
    const refused = await t.app.gql(query, vars(), { token: plain.accessToken });
    expectCode(refused, 'FORBIDDEN');
    expect(Object.values(refused.data ?? {}).filter((v) => v !== null)).toEqual([]);
    expectCode(await t.app.gql(query, vars()), 'UNAUTHENTICATED');
  });

  it('a refused call changes nothing', async () => {
    for (const [, query, vars] of calls) await t.app.gql(query, vars(), { token: plain.accessToken });
    const target = expectOk(await me(t.app, other.accessToken)).me;
    expect(target).toMatchObject({ id: other.userId, name: null, disabled: false });
    expect((await t.list({ filter: { search: `made.by.${plain.userId}` } })).totalCount).toBe(0);
    const roles = expectOk(await t.asAdmin(`{ roles { name caps } }`)).roles;
    expect(roles).toContainEqual({ name: 'spare', caps: ['users:read'] });
    const byPlain = (await auditRows(t.app)).filter((r) => r.actorId === plain.userId && /^(admin|role)\./.test(r.action));
    expect(byPlain).toEqual([]);
  });

  it("user(id) with the caller's own id works for a plain user", async () => {
    const data = expectOk(await t.app.gql(`query($id: ID!) { user(id: $id) { id email roles } }`, { id: plain.userId }, { token: plain.accessToken }));
    expect(data.user).toEqual({ id: plain.userId, email: plain.email, roles: ['user'] });
  });
});

describe.each(backends())('users: search and filters (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  let t: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    t = await setup(app);
  });

  it('search matches email or name case-insensitively, with % and _ as literal characters', async () => {
    const tag = `t${randomUUID().slice(0, 8)}`;
    const byEmail = await t.createUser({ email: `${tag}.alpha@example.com`, name: 'Plain Name' });
    const byName = await t.createUser({ name: `Mr ${tag.toUpperCase()} Smith` });
    const percent = await t.createUser({ name: `${tag} 100% sure` });
    const notPercent = await t.createUser({ name: `${tag} 1000 sure` });
    const underscore = await t.createUser({ name: `${tag} a_b` });
    const notUnderscore = await t.createUser({ name: `${tag} axb` });
    await t.createUser({ name: 'Somebody Else' });

    const all = await t.list({ filter: { search: tag.toUpperCase() } });
    expect(ids(all)).toEqual([byEmail, byName, percent, notPercent, underscore, notUnderscore].map((u) => u.id).sort());
    expect(all.totalCount).toBe(6);
    expect(ids(await t.list({ filter: { search: `${tag}.ALPHA@Example` } }))).toEqual([byEmail.id]);
    expect(ids(await t.list({ filter: { search: `${tag} 100%` } }))).toEqual([percent.id]);
    expect(ids(await t.list({ filter: { search: `${tag} a_b` } }))).toEqual([underscore.id]);
    for (const ch of ['%', '_']) {
      const found = await t.list({ filter: { search: ch }, first: 100 });
      expect(found.nodes.length).toBeGreaterThan(0);
      for (const n of found.nodes) expect(`${n.email} ${n.name ?? ''}`).toContain(ch);
    }
  });

  it('filters by role and by disabled, and totalCount counts the whole filter on every page', async () => {
    const tag = `f${randomUUID().slice(0, 8)}`;
    const role = `r${tag}`;
    expectOk(await t.asAdmin(UPSERT_ROLE, { name: role, caps: [] }));
    const holder = await t.createUser({ email: `${tag}.1@example.com`, roles: [role] });
    const disabledHolder = await t.createUser({ email: `${tag}.2@example.com`, roles: [role] });
    const outsider = await t.createUser({ email: `${tag}.3@example.com` });
    expectOk(await t.asAdmin(`mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { id } }`, { id: disabledHolder.id }));

    const byRole = await t.list({ filter: { role } });
    expect(ids(byRole)).toEqual([holder.id, disabledHolder.id].sort());
    expect(byRole.totalCount).toBe(2);
    expect(ids(await t.list({ filter: { role, disabled: true } }))).toEqual([disabledHolder.id]);
    expect(ids(await t.list({ filter: { search: tag, disabled: false } }))).toEqual([holder.id, outsider.id].sort());
    expect((await t.list({ filter: { role: 'no-such-role' } })).totalCount).toBe(0);

    const first = await t.list({ filter: { search: tag }, first: 1 });
    expect(first.nodes).toHaveLength(1);
    expect(first.totalCount).toBe(3);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await t.list({ filter: { search: tag }, first: 1, after: first.pageInfo.endCursor });
    expect(second.totalCount).toBe(3);
    expect(second.nodes[0]!.id).not.toBe(first.nodes[0]!.id);
  });
});

describe.each(backends())('users: pagination (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  let t: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    t = await setup(app);
    await Promise.all(Array.from({ length: 30 }, () => t.createUser({})));
  });

  it('first: 7 visits every user exactly once while others register between pages', async () => {
    // The clock stands still, so every row shares created_at: the order rests on the id tie-breaker.
    const before = await t.list({ first: 100 });
    expect(before.nodes).toHaveLength(before.totalCount);
    expect(before.totalCount).toBe(31);
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 1; ; pages++) {
      expect(pages).toBeLessThan(30);
      const page = await t.list({ first: 7, after });
      seen.push(...page.nodes.map((n) => n.id));
      await signUp(t.app);
      await signUp(t.app);
      if (!page.pageInfo.hasNextPage) break;
      expect(page.nodes).toHaveLength(7);
      after = page.pageInfo.endCursor;
    }
    expect(seen.length).toBeGreaterThanOrEqual(31);
    expect(new Set(seen).size).toBe(seen.length);
    expect(before.nodes.map((n) => n.id).filter((id) => !seen.includes(id))).toEqual([]);
  });

  it('caps first at 100', async () => {
    await Promise.all(Array.from({ length: 80 }, () => t.createUser({})));
    const page = await t.list({ first: 1000 });
    expect(page.totalCount).toBeGreaterThan(100);
    expect(page.nodes).toHaveLength(100);
    expect(page.pageInfo.hasNextPage).toBe(true);
  });

  it.each([
    ['not base64 JSON', 'not-a-cursor!'],
    ['a JSON object', cursor({ at: 1 })],
    ['a key of the wrong length', cursor(['2020-01-01T00:00:00.000Z'])],
    ['an id that is not a UUID', cursor(['2020-01-01T00:00:00.000Z', 'nope'])],
    ['a time that is not a time', cursor(['not a time', randomUUID()])],
    ['a number for the time', cursor([1, randomUUID()])],
  ])('a malformed after (%s) is BAD_USER_INPUT', async (_name, after) => {
    expectCode(await t.asAdmin(USERS, { first: 5, after }), 'BAD_USER_INPUT');
  });
});

describe.each(backends())('usersOverview (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  let t: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    t = await setup(app);
  });

  const overview = async (token: string) => {
    const o = expectOk(await t.app.gql(OVERVIEW, {}, { token })).usersOverview;
    return {
      ...o,
      byRole: o.byRole.filter((r: { count: number }) => r.count > 0).sort((a: { role: string }, b: { role: string }) => a.role.localeCompare(b.role)),
    };
  };

  it('counts exactly what exists, the bootstrap admin included, and a 24-hour window', async () => {
    expect(await overview(t.admin.accessToken)).toEqual({
      total: 1,
      emailVerified: 1,
      mfaEnabled: 0,
      disabled: 0,
      byRole: [
        { role: 'admin', count: 1 },
        { role: 'user', count: 1 },
      ],
      registeredLast24h: 1,
      activeLast24h: 1,
    });
    const password = 'a fine long password 77';
    expectOk(await t.asAdmin(UPSERT_ROLE, { name: 'ops', caps: ['users:read'] }));
    const verified = await t.createUser({ password, emailVerified: true });
    await t.createUser({});
    const toDisable = await t.createUser({ password });
    await t.createUser({ roles: ['ops'] });
    expectOk(await t.asAdmin(`mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { id } }`, { id: toDisable.id }));
    await signIn(t.app, verified.email, password);
    expect(await overview(t.admin.accessToken)).toEqual({
      total: 5,
      emailVerified: 2,
      mfaEnabled: 0,
      disabled: 1,
      byRole: [
        { role: 'admin', count: 1 },
        { role: 'ops', count: 1 },
        { role: 'user', count: 5 },
      ],
      registeredLast24h: 5,
      activeLast24h: 2,
    });

    t.app.clock.advance(25 * 60 * 60_000);
    const admin = await signIn(t.app, ADMIN_EMAIL, ADMIN_PASSWORD);
    expectOk(await t.app.gql(CREATE_USER, { input: { email: uniqueEmail() } }, { token: admin.accessToken }));
    expect(await overview(admin.accessToken)).toMatchObject({ total: 6, registeredLast24h: 1, activeLast24h: 1, disabled: 1, emailVerified: 2 });
  });
});
