import { bigint, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/tables.js';

/**
 * Second factors of a user, one row per method. A row exists from startMfaEnrollment (TOTP:
 * the secret waits for its first code) and counts once `enabledAt` is set.
 */
export const mfaFactors = pgTable(
  'mfa_factors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    method: text('method').notNull(),
    /** TOTP: the secret, AES-256-GCM under a key derived from SECRET_KEY (never in clear at rest). */
    secretEnc: text('secret_enc'),
    /** SMS: the E.164 number codes go to (fixed at enrollment: changing the profile phone does not move the factor). */
    phone: text('phone'),
    /** TOTP: the last time step accepted; a code of that step or an earlier one is refused (replay). */
    lastUsedStep: bigint('last_used_step', { mode: 'number' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    enabledAt: timestamp('enabled_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('mfa_factors_user_method_key').on(t.userId, t.method)],
);

/** Recovery codes: only a keyed hash (HMAC under SECRET_KEY), each usable once. */
export const recoveryCodes = pgTable(
  'recovery_codes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('recovery_codes_user_hash_key').on(t.userId, t.codeHash)],
);

export type MfaFactorRow = typeof mfaFactors.$inferSelect;
