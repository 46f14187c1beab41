import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * The audit trail, and the outbox of live audit events. No foreign keys: the trail outlives
 * the users it mentions. Indexes serve keyset pagination over (at, id), overall and per user.
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
  },
  (t) => [
    index('audit_events_at_idx').on(t.at.desc(), t.id.desc()),
    index('audit_events_user_at_idx').on(t.userId, t.at.desc(), t.id.desc()),
    index('audit_events_actor_at_idx').on(t.actorId, t.at.desc(), t.id.desc()),
    index('audit_events_action_at_idx').on(t.action, t.at.desc(), t.id.desc()),
  ],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;
