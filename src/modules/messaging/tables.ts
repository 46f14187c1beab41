import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** What a queued message goes out through; webhook deliveries can share the worker later. */
export type MessageChannel = 'mail' | 'sms';

/**
 * The durable outbound queue (queue.ts): a mail or SMS is a row from the moment it is queued
 * until it is delivered (then the row is deleted) or given up (FAILED, its payload wiped).
 *
 * - `payload_enc`: the rendered message as JSON, AES-256-GCM under a key derived from
 *   SECRET_KEY: it holds one-time links and codes (ASVS 5.0 V11.3: sensitive data encrypted at rest).
 * - `claimed_by` / `claimed_until`: a worker's claim, taken with FOR UPDATE SKIP LOCKED; once
 *   it expires (a crashed worker), any instance may take the row again.
 * - `attempts` counts claims, so a message that crashes its worker is not retried forever.
 * - `channel` is plain text, not a Postgres enum: a new channel needs no migration.
 * Times are the database's (`now()`), shared by every instance.
 */
export const outboundMessages = pgTable(
  'outbound_messages',
  {
    id: uuid('id').primaryKey(),
    channel: text('channel').$type<MessageChannel>().notNull(),
    /** What the message is for (verify_email, mfa_code, ...): logged; never its content. */
    purpose: text('purpose').notNull(),
    userId: uuid('user_id'),
    payloadEnc: text('payload_enc'),
    status: text('status', { enum: ['PENDING', 'FAILED'] })
      .notNull()
      .default('PENDING'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    claimedBy: text('claimed_by'),
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    /** The last failure, scrubbed of addresses and content (delivery.ts). */
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('outbound_messages_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'PENDING'`)],
);
