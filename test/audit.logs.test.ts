import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { AuditAction } from '../src/modules/audit/actions.js';
import { parseAuditFilter } from '../src/modules/audit/filter.js';
import { auditEventsQuery } from '../src/modules/audit/queries.js';
import { recordAudit } from '../src/modules/audit/service.js';
import { backends, type TestApp, useTestApp } from './support/app.js';
import { expectCode, expectOk, login, logout, signUp, type Tokens } from './support/actions.js';
import { EVENT_FIELDS, grantAdmin, type AuditEventJson } from './support/audit.js';

const AUDIT_LOGS = `query($filter: AuditFilter, $first: Int, $after: String) {
  auditLogs(filter: $filter, first: $first, after: $after) { nodes { ${EVENT_FIELDS} } pageInfo { hasNextPage endCursor } }
}`;

type Page = { nodes: AuditEventJson[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

function setup(app: () => TestApp) {
  const auditLogs = (token: string, variables: Record<string, unknown> = {}) => app().gql<{ auditLogs: Page }>(AUDIT_LOGS, variables, { token });
  const page = async (token: string, variables: Record<string, unknown> = {}) => expectOk(await auditLogs(token, variables)).auditLogs;
  /** Every page, following endCursor, `first` at a time; `between` runs after each page. */
  const allPages = async (token: string, filter: Record<string, unknown>, first: number, between?: () => Promise<void>) => {
    const seen: AuditEventJson[] = [];
    let after: string | null = null;
    for (let i = 0; i < 100; i++) {
      const p: Page = await page(token, { filter, first, after });
      seen.push(...p.nodes);
      if (!p.pageInfo.hasNextPage) return seen;
      after = p.pageInfo.endCursor;
      await between?.();
    }
    throw new Error('more than 100 pages');
  };
  /** Writes an audit row as a service would, `ageMs` before the test clock's now. */
  const record = async (input: { action: AuditAction; userId?: string | null; actorId?: string | null; outcome?: 'SUCCESS' | 'FAILURE'; ageMs?: number }) => {
    const clock = { now: () => app().clock.now() - (input.ageMs ?? 0) };
    const { ageMs: _, ...rest } = input;
    return recordAudit({ clock, random: app().deps.random }, app().deps.db, { ...rest, meta: { requestId: 'test', ip: '192.0.2.1', userAgent: 'fixture' } });
  };
  const admin = async (): Promise<Tokens> => {
    const tokens = await signUp(app());
    await grantAdmin(app(), tokens.userId);
    return tokens;
  };
  return { auditLogs, page, allPages, record, admin };
}

/** Newest first: at descending, then id descending (the keyset order). */
function expectNewestFirst(nodes: AuditEventJson[]) {
  for (let i = 1; i < nodes.length; i++) {
    const [a, b] = [nodes[i - 1]!, nodes[i]!];
    expect(a.at > b.at || (a.at === b.at && a.id > b.id), `${a.at} ${a.id} before ${b.at} ${b.id}`).toBe(true);
  }
}

describe.each(backends())('auditLogs (%s)', (backend) => {
  const app = useTestApp(backend);
  const { auditLogs, page, allPages, record, admin } = setup(() => app);

  it('without audit:read, shows only events about the caller; a filter naming someone else matches nothing', async () => {
    const user = await signUp(app);
    const other = await signUp(app);
    await login(app, user.email);
    await login(app, user.email, 'wrong password');
    await login(app, other.email);
    const mine = await page(user.accessToken, { first: 100 });
    expect(mine.nodes.map((e) => e.action).sort()).toEqual(['user.login', 'user.login_failed', 'user.registered']);
    expect(mine.nodes.every((e) => e.userId === user.userId)).toBe(true);
    expect((await page(user.accessToken, { filter: { userId: other.userId } })).nodes).toEqual([]);
    expect((await page(user.accessToken, { filter: { userId: user.userId, actions: ['user.login'] } })).nodes.map((e) => e.action)).toEqual(['user.login']);
    // An admin's filter-less view includes both users.
    const all = await allPages((await admin()).accessToken, { actions: ['user.registered'] }, 100);
    expect(all.map((e) => e.userId)).toEqual(expect.arrayContaining([user.userId, other.userId]));
  });

  it('answers UNAUTHENTICATED without a token, and after logout', async () => {
    const user = await signUp(app);
    expectCode(await app.gql(AUDIT_LOGS, {}), 'UNAUTHENTICATED');
    expectOk(await logout(app, user.accessToken));
    expectCode(await auditLogs(user.accessToken), 'UNAUTHENTICATED');
  });

  it('applies each filter, alone and combined, newest first', async () => {
    const { accessToken } = await admin();
    const [u1, u2, actor] = [randomUUID(), randomUUID(), randomUUID()];
    const rows = [
      await record({ action: 'user.login', userId: u1, ageMs: 50_000 }),
      await record({ action: 'user.login_failed', userId: u1, actorId: null, outcome: 'FAILURE', ageMs: 40_000 }),
      await record({ action: 'admin.user_updated', userId: u1, actorId: actor, ageMs: 30_000 }),
      await record({ action: 'user.login', userId: u2, ageMs: 20_000 }),
      await record({ action: 'admin.user_deleted', userId: u2, actorId: actor, ageMs: 10_000 }),
      await record({ action: 'user.login_failed', userId: u2, actorId: null, outcome: 'FAILURE', ageMs: 10_000 }),
    ];
    const ours = { userIds: [u1, u2] as string[], actor };
    const ids = async (filter: Record<string, unknown>) => {
      const nodes = await allPages(accessToken, filter, 2);
      expectNewestFirst(nodes);
      // Other tests write to the same table: only this test's rows count.
      return nodes.filter((e) => ours.userIds.includes(e.userId ?? '') || e.actorId === ours.actor).map((e) => e.id);
    };
    const expected = (pick: number[]) => pick.map((i) => rows[i]!.id).reverse();
    const newest = new Date(app.clock.now() - 10_000).toISOString();
    expect(await ids({ userId: u1 })).toEqual(expected([0, 1, 2]));
    expect(await ids({ actorId: actor })).toEqual(expected([2, 4]));
    expect(await ids({ userId: u2, outcome: 'FAILURE' })).toEqual(expected([5]));
    expect(await ids({ userId: u1, actions: ['user.login', 'admin.user_updated'] })).toEqual(expected([0, 2]));
    // Rows 4 and 5 share `at`: the id breaks the tie, descending.
    expect(await ids({ actions: ['admin.user_deleted', 'user.login_failed', 'user.login'], since: newest })).toEqual(
      [rows[4]!.id, rows[5]!.id].sort().reverse(),
    );
    expect(await ids({ outcome: 'FAILURE', until: newest })).toEqual(expected([1]));
    expect(await ids({ userId: u2, since: new Date(app.clock.now() - 20_000).toISOString(), until: newest })).toEqual(expected([3]));
    expect(await ids({ actorId: actor, actions: ['admin.user_deleted'] })).toEqual(expected([4]));
    expect(await ids({ userId: u1, actions: [] })).toEqual([]);
    const [first] = (await page(accessToken, { filter: { userId: u1 }, first: 1 })).nodes;
    expect(first).toEqual({
      id: rows[2]!.id,
      at: rows[2]!.at.toISOString(),
      action: 'admin.user_updated',
      outcome: 'SUCCESS',
      actorId: actor,
      userId: u1,
      ip: '192.0.2.1',
      userAgent: 'fixture',
      metadata: null,
    });
  });

  it('pages visit every row exactly once, in order, while rows are being added', async () => {
    const { accessToken } = await admin();
    const userId = randomUUID();
    const before: string[] = [];
    // Runs of equal `at` (the clock stands still) make the id carry the order.
    for (let i = 0; i < 45; i++) before.push((await record({ action: 'user.login', userId, ageMs: 1000 * Math.floor(i / 4) })).id);
    let added = 0;
    const seen = await allPages(accessToken, { userId }, 7, async () => {
      // Newer rows, and rows as old as the ones being paged through, land between pages.
      await Promise.all([record({ action: 'user.login', userId }), record({ action: 'user.login', userId, ageMs: 1000 * (added % 12) })]);
      added += 2;
    });
    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(before));
    expectNewestFirst(seen);
    const total = (await allPages(accessToken, { userId }, 100)).length;
    expect(total).toBe(45 + added);
  });

  it('caps first at 100 and refuses bad input with BAD_USER_INPUT', async () => {
    const { accessToken } = await admin();
    const userId = randomUUID();
    await Promise.all(Array.from({ length: 105 }, () => record({ action: 'user.login', userId })));
    const capped = await page(accessToken, { filter: { userId }, first: 1000 });
    expect(capped.nodes).toHaveLength(100);
    expect(capped.pageInfo.hasNextPage).toBe(true);
    expect((await page(accessToken, { filter: { userId } })).nodes).toHaveLength(20);
    for (const variables of [
      { first: -1 },
      { after: 'not-a-cursor' },
      { after: Buffer.from(JSON.stringify(["'; drop table audit_events; --", 'x'])).toString('base64url') },
      { filter: { userId: 'not-a-uuid' } },
      { filter: { actorId: '42' } },
      { filter: { actions: ['user.login', 'user.nonsense'] } },
    ]) {
      expectCode(await auditLogs(accessToken, variables), 'BAD_USER_INPUT');
    }
  });

  it('reads every filter shape off an index in (at, id) order, without sorting the range', async () => {
    const filters = [
      {},
      { userId: randomUUID() },
      { actorId: randomUUID() },
      { outcome: 'FAILURE' as const },
      { actions: ['user.login'] },
      { actions: ['user.login', 'user.logout', 'session.revoked'] },
      { userId: randomUUID(), actions: ['user.login'], outcome: 'SUCCESS' as const, since: new Date(0), until: new Date() },
    ];
    const after = { at: '2026-01-01T00:00:00.000000Z', id: randomUUID() };
    await app.deps.db.transaction(async (tx) => {
      // A near-empty table would make a sequential scan and a sort the cheapest plan: rule them
      // out, so the plan shows whether an index can deliver the order at all.
      await tx.execute(sql`set local enable_seqscan = off`);
      await tx.execute(sql`set local enable_bitmapscan = off`);
      for (const filter of filters) {
        const query = auditEventsQuery(tx, parseAuditFilter(filter), { after, limit: 21 });
        const result = await tx.execute(sql`explain (costs off) ${query}`);
        const plan = ((Array.isArray(result) ? result : (result as unknown as { rows: unknown[] }).rows) as Array<Record<string, string>>)
          .map((row) => Object.values(row)[0])
          .join('\n');
        expect(plan, JSON.stringify(filter)).toMatch(/Index Scan using audit_events_\w+_idx/);
        // Merge Append merges the per-action scans, each already in order; a Sort would read them all.
        expect(plan, `${JSON.stringify(filter)}\n${plan}`).not.toMatch(/^\s*(->\s+)?(Incremental )?Sort$/m);
      }
    });
  });
});
