import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/tables.js';

/**
 * Sign-in providers, managed at runtime (upsertOAuthProvider). OIDC providers by issuer (the
 * endpoints come from its discovery document), plain OAuth 2.0 ones (GitHub) by endpoints.
 */
export const oauthProviders = pgTable('oauth_providers', {
  /** URL-safe slug, as in /oauth/:name. */
  name: text('name').primaryKey(),
  displayName: text('display_name').notNull(),
  /** OIDC only; null for plain OAuth 2.0 providers. */
  issuer: text('issuer'),
  authorizationEndpoint: text('authorization_endpoint'),
  tokenEndpoint: text('token_endpoint'),
  userinfoEndpoint: text('userinfo_endpoint'),
  clientId: text('client_id').notNull(),
  /** AES-256-GCM under a key derived from SECRET_KEY; never returned, never logged. Null: a public client (PKCE only). */
  clientSecretEnc: text('client_secret_enc'),
  scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
  enabled: boolean('enabled').notNull().default(true),
  linkByEmail: boolean('link_by_email').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/**
 * A provider identity linked to an account: sign-in looks it up by (provider, subject), never by
 * email. `provider` is a name, not a foreign key: deleting a provider keeps its identities,
 * unusable, until it is added again.
 */
export const identities = pgTable(
  'identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    subject: text('subject').notNull(),
    /** What the provider said at the last sign-in (informational: sign-in never matches on it). */
    email: text('email'),
    emailVerified: boolean('email_verified').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('identities_provider_subject_key').on(t.provider, t.subject), index('identities_user_id_idx').on(t.userId)],
);

export type OAuthProviderRow = typeof oauthProviders.$inferSelect;
export type IdentityRow = typeof identities.$inferSelect;
