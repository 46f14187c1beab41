import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Token signing keys. The private key is a PKCS#8 PEM encrypted with a key derived from SECRET_KEY. */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  publicJwk: jsonb('public_jwk').$type<Record<string, unknown>>().notNull(),
  privateKeyEncrypted: text('private_key_encrypted').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /** Set when a newer key takes over; the key stays in the JWKS until its last token expires. */
  retiredAt: timestamp('retired_at', { withTimezone: true }),
});

export type SigningKeyRow = typeof signingKeys.$inferSelect;
