import { sql } from 'drizzle-orm';
import { bigint, customType, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Postgres `xid8`: a 64-bit transaction id that never wraps around; read as its decimal text. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

/**
 * The audit trail, and the outbox of live audit events. No foreign keys: the trail outlives
 * the users it mentions. Indexes serve keyset pagination over (at, id), overall and per user,
 * actor, action and outcome (every filter of auditLogs starts a range scan on one of them).
 *
 * `tx` and `seq` order the outbox (relay.ts): `tx` is the id of the transaction that wrote the
 * row, `seq` the insertion order. A relay reads rows by (tx, seq) only from transactions older
 * than every transaction still running (pg_snapshot_xmin), so no row can appear later behind
 * its cursor, whatever order transactions commit in.
 *
 * Append-only: migration 0004 adds triggers that refuse UPDATE, DELETE (per row) and TRUNCATE
 * (per statement) for every role, the owner and superusers included, so the service cannot
 * rewrite its own trail (ASVS 5.0 V16.4.2: logs protected from modification). README
 * "Audit log" says how a retention job prunes old rows.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: uuid('id').primaryKey(),
    at: timestamp('at', { withTimezone: true, precision: 6 }).notNull(),
    action: text('action').notNull(),
    outcome: text('outcome', { enum: ['SUCCESS', 'FAILURE'] }).notNull(),
    actorId: uuid('actor_id'),
    userId: uuid('user_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    /** The request that caused it (X-Request-Id): ties the row to the request's log lines. Null on rows from before 0004. */
    requestId: text('request_id'),
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    tx: xid8('tx').notNull().default(sql`pg_current_xact_id()`),
  },
  (t) => [
    index('audit_events_at_idx').on(t.at.desc(), t.id.desc()),
    index('audit_events_user_at_idx').on(t.userId, t.at.desc(), t.id.desc()),
    index('audit_events_actor_at_idx').on(t.actorId, t.at.desc(), t.id.desc()),
    index('audit_events_action_at_idx').on(t.action, t.at.desc(), t.id.desc()),
    index('audit_events_outcome_at_idx').on(t.outcome, t.at.desc(), t.id.desc()),
    index('audit_events_outbox_idx').on(t.tx, t.seq),
  ],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;
/** An audit event as clients see it: the row without its outbox position. */
export type AuditEvent = Omit<AuditEventRow, 'seq' | 'tx'>;
