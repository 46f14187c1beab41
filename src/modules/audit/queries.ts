import { and, count, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { unionAll } from 'drizzle-orm/pg-core';
import type { DbOrTx } from '../../db/client.js';
import { preparedQuery } from '../../db/prepared.js';
import type { AuditAction } from './actions.js';
import type { AuditFilter } from './filter.js';
import { auditEvents as a, type AuditEvent } from './tables.js';

/** Keyset position: the `at` of the last row as exact text (microseconds), and its id. */
export type AuditCursor = { at: string; id: string };
export type AuditPageRow = AuditEvent & { cursorAt: string };

const eventColumns = {
  id: a.id,
  at: a.at,
  action: a.action,
  outcome: a.outcome,
  actorId: a.actorId,
  userId: a.userId,
  ip: a.ip,
  userAgent: a.userAgent,
  metadata: a.metadata,
  requestId: a.requestId,
};
const columns = {
  ...eventColumns,
  // A JS Date holds milliseconds, the column microseconds: the cursor keeps the exact value.
  cursorAt: sql<string>`to_char(${a.at} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_at'),
};

// `nulls last` as in the indexes (drizzle writes DESC NULLS LAST): with a different null order
// the planner could not read the order off the index and would sort the whole range instead.
const newestFirst = [sql`${a.at} desc nulls last`, sql`${a.id} desc nulls last`];

function conditions(filter: AuditFilter, after: AuditCursor | null): SQL[] {
  const where: Array<SQL | undefined> = [
    filter.userId ? eq(a.userId, filter.userId) : undefined,
    filter.actorId ? eq(a.actorId, filter.actorId) : undefined,
    filter.outcome ? eq(a.outcome, filter.outcome) : undefined,
    filter.since ? gte(a.at, filter.since) : undefined,
    filter.until ? lt(a.at, filter.until) : undefined,
    // A row comparison: one range condition on the index's (at, id) suffix, not an OR of two.
    after ? sql`(${a.at}, ${a.id}) < (${after.at}::timestamptz, ${after.id}::uuid)` : undefined,
  ];
  return where.filter((c): c is SQL => c !== undefined);
}

/**
 * One page of audit events, newest first, keyset-paginated over (at, id): `limit` rows after
 * `after`. Every page is a range scan on one index: (user_id | actor_id | outcome, at, id) when
 * that filter is set, (at, id) otherwise. Several actions become one scan per action on
 * (action, at, id), each stopping after `limit` rows, merged: a single `action = any(...)` scan
 * would have to read and sort every matching row, however old.
 */
export function auditEventsQuery(db: DbOrTx, filter: AuditFilter, page: { after: AuditCursor | null; limit: number }) {
  const base = conditions(filter, page.after);
  const select = (extra: SQL[]) =>
    db
      .select(columns)
      .from(a)
      .where(and(...base, ...extra))
      .orderBy(...newestFirst)
      .limit(page.limit);
  const actions = filter.actions ?? [];
  if (actions.length <= 1) return select(actions.map((action) => eq(a.action, action)));
  const [first, second, ...rest] = actions.map((action) => select([eq(a.action, action)]));
  return unionAll(first!, second!, ...rest)
    .orderBy(sql`at desc nulls last`, sql`id desc nulls last`)
    .limit(page.limit);
}

export async function listAuditEvents(db: DbOrTx, filter: AuditFilter, page: { after: AuditCursor | null; limit: number }): Promise<AuditPageRow[]> {
  return auditEventsQuery(db, filter, page);
}

/** A position in the outbox order: transaction id (xid8, as text), then insertion order. */
export type OutboxPosition = { tx: string; seq: number };

/** The oldest transaction still running (xmin) and the next id to be assigned (xmax), as of now. */
export async function transactionHorizon(db: DbOrTx): Promise<{ xmin: string; xmax: string }> {
  const [row] = await db
    .select({ xmin: sql<string>`pg_snapshot_xmin(s)::text`, xmax: sql<string>`pg_snapshot_xmax(s)::text` })
    .from(sql`pg_current_snapshot() as s`);
  return row!;
}

/**
 * Outbox rows after `after`, in (tx, seq) order, from transactions that have ended: `tx` below
 * the snapshot's xmin, in the same statement and so the same snapshot. Every transaction below
 * xmin has committed or rolled back, so its rows are all visible now or never will be: no row
 * can later appear behind the position returned last, whatever order transactions commit in
 * (sequence values are taken at insert, and commits land out of order). Rows of a transaction
 * still running wait for it to end, and are never skipped.
 */
const outboxRows = preparedQuery('audit_outbox', (db) =>
  db
    .select({ ...eventColumns, seq: a.seq, tx: a.tx })
    .from(a)
    .where(
      and(
        sql`(${a.tx}, ${a.seq}) > (${sql.placeholder('tx')}::xid8, ${sql.placeholder('seq')}::bigint)`,
        sql`${a.tx} < pg_snapshot_xmin(pg_current_snapshot())`,
      ),
    )
    .orderBy(a.tx, a.seq)
    .limit(sql.placeholder('limit')),
);

// Prepared: the leader runs it every few milliseconds, mostly to find nothing.
export function readOutbox(db: DbOrTx, after: OutboxPosition, limit: number) {
  return outboxRows(db, { tx: after.tx, seq: after.seq, limit });
}

/**
 * The transaction holding the outbox back, if any: the xmin of now when committed rows after
 * `after` are waiting for it (or an older transaction) to end; null when nothing waits.
 */
export async function findOutboxBlocker(db: DbOrTx, after: OutboxPosition): Promise<string | null> {
  const horizon = sql`pg_snapshot_xmin(pg_current_snapshot())`;
  const [row] = await db
    .select({ xmin: sql<string>`${horizon}::text` })
    .from(a)
    .where(and(sql`(${a.tx}, ${a.seq}) > (${after.tx}::xid8, ${after.seq}::bigint)`, sql`${a.tx} >= ${horizon}`))
    .limit(1);
  return row?.xmin ?? null;
}

/**
 * How many events of each of `actions` happened at [since, until), in one query. `action IN (...)`
 * with the time range is what audit_events_action_at_idx (action, at) serves: one index range per
 * action, whatever the rest of the trail holds.
 */
export async function countAuditActions(db: DbOrTx, actions: AuditAction[], since: Date, until: Date): Promise<Map<string, number>> {
  const rows = await db
    .select({ action: a.action, count: count() })
    .from(a)
    .where(and(inArray(a.action, actions), gte(a.at, since), lt(a.at, until)))
    .groupBy(a.action);
  return new Map(rows.map((r) => [r.action, Number(r.count)]));
}
