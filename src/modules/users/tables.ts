import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Stored trimmed and lower-cased; unique. */
    email: text('email').notNull(),
    /** argon2id PHC string; null for accounts that have not set a password. */
    passwordHash: text('password_hash'),
    emailVerified: boolean('email_verified').notNull().default(false),
    phone: text('phone'),
    phoneVerified: boolean('phone_verified').notNull().default(false),
    name: text('name'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    bio: text('bio'),
    language: text('language'),
    avatarUrl: text('avatar_url'),
    /** Capabilities granted directly, on top of the roles' caps. */
    caps: text('caps').array().notNull().default(sql`'{}'::text[]`),
    disabled: boolean('disabled').notNull().default(false),
    /**
     * The enabled second factors (TOTP, SMS, EMAIL), kept in step with mfa_factors in the same
     * transaction: sign-in and every User read need them without another query.
     */
    mfaMethods: text('mfa_methods').array().notNull().default(sql`'{}'::text[]`),
    defaultMfaMethod: text('default_mfa_method'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('users_email_key').on(t.email), index('users_created_at_idx').on(t.createdAt, t.id)],
);

export type UserRow = typeof users.$inferSelect;
