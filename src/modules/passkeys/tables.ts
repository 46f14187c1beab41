import { bigint, boolean, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/tables.js';

/**
 * WebAuthn credentials (passkeys), several per user. Only public material is stored: the
 * credential id and its COSE public key; the private key never leaves the authenticator.
 */
export const passkeys = pgTable(
  'passkeys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The credential id as base64url, as browsers send it (rawId); unique across users. */
    credentialId: text('credential_id').notNull(),
    /** The COSE_Key public key, base64url. */
    publicKey: text('public_key').notNull(),
    /** The authenticator's signature counter; an assertion whose counter does not grow (while either is non-zero) is refused. */
    counter: bigint('counter', { mode: 'number' }).notNull().default(0),
    /** AuthenticatorTransport hints (usb, nfc, ble, internal, hybrid) from registration. */
    transports: text('transports').array().notNull().default([]),
    /** singleDevice or multiDevice (backup eligible): a multi-device credential can be synced off the device. */
    deviceType: text('device_type').notNull(),
    /** The backup state (BS flag) as last reported. */
    backedUp: boolean('backed_up').notNull(),
    /** The user's label for it ("Work laptop"). */
    name: text('name'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('passkeys_credential_id_key').on(t.credentialId), index('passkeys_user_id_idx').on(t.userId, t.createdAt)],
);

export type PasskeyRow = typeof passkeys.$inferSelect;
