import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Webhook endpoints (README "Webhooks"). The signing secret is stored only encrypted (AES-256-GCM
 * under a key derived from SECRET_KEY; ASVS 5.0 V11.3: sensitive data encrypted at rest): it must
 * be usable to sign, so it cannot be hashed. After a rotation the previous secret keeps signing
 * beside the new one until `previous_secret_expires_at` (24 hours), so receivers can switch over.
 */
export const webhooks = pgTable('webhooks', {
  id: uuid('id').primaryKey(),
  url: text('url').notNull(),
  description: text('description'),
  /** Exact audit actions and `prefix.*` patterns; empty: every event. */
  events: text('events').array().notNull().default(sql`'{}'::text[]`),
  enabled: boolean('enabled').notNull().default(true),
  disabledReason: text('disabled_reason'),
  secretEnc: text('secret_enc').notNull(),
  previousSecretEnc: text('previous_secret_enc'),
  previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
  /** FAILED deliveries in a row; WEBHOOK_DISABLE_AFTER of them disable the endpoint, a success resets it. */
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  createdBy: uuid('created_by'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/**
 * One event for one endpoint (worker.ts delivers them). `id` is the `webhook-id` header, the same
 * on every retry, so a receiver can drop duplicates (delivery is at least once). `payload` is the
 * exact body, written once, so every retry signs the same bytes. `claimed_by`/`claimed_until`: a
 * worker's claim, taken with FOR UPDATE SKIP LOCKED and expiring, as in outbound_messages.
 * No foreign key to the audit trail (it is append-only and pruned on its own schedule); deleting
 * an endpoint deletes its deliveries.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id'),
    eventType: text('event_type').notNull(),
    payload: text('payload').notNull(),
    status: text('status', { enum: ['PENDING', 'SUCCEEDED', 'FAILED'] })
      .notNull()
      .default('PENDING'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    responseStatus: integer('response_status'),
    /** Why the last attempt failed (a status, a timeout, the guard's refusal): never a secret or a response body. */
    lastError: text('last_error'),
    claimedBy: text('claimed_by'),
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'PENDING'`),
    index('webhook_deliveries_webhook_idx').on(t.webhookId, t.createdAt.desc(), t.id.desc()),
    index('webhook_deliveries_created_idx').on(t.createdAt),
  ],
);

/**
 * Where turning audit rows into deliveries goes on from: one row, an outbox position (audit
 * relay's order: transaction id, then insertion order). It is advanced in the same transaction
 * that inserts the deliveries, so a crash loses no event and creates no duplicate.
 */
export const webhookCursor = pgTable('webhook_cursor', {
  id: integer('id').primaryKey(),
  tx: text('tx').notNull(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
});

export type WebhookRow = typeof webhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type DeliveryStatus = WebhookDeliveryRow['status'];
