import { and, asc, eq, lt } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { passkeys, type PasskeyRow } from './tables.js';

export async function listPasskeys(db: DbOrTx, userId: string): Promise<PasskeyRow[]> {
  return db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt), asc(passkeys.id));
}

export async function countPasskeys(db: DbOrTx, userId: string): Promise<number> {
  return db.$count(passkeys, eq(passkeys.userId, userId));
}

export async function findPasskeyByCredentialId(db: DbOrTx, credentialId: string): Promise<PasskeyRow | null> {
  const [row] = await db.select().from(passkeys).where(eq(passkeys.credentialId, credentialId));
  return row ?? null;
}

/** null when the credential id is registered already (to this user or another). */
export async function insertPasskey(db: DbOrTx, values: typeof passkeys.$inferInsert): Promise<PasskeyRow | null> {
  const [row] = await db.insert(passkeys).values(values).onConflictDoNothing({ target: passkeys.credentialId }).returning();
  return row ?? null;
}

export async function deletePasskeyRow(db: DbOrTx, userId: string, id: string): Promise<PasskeyRow | null> {
  const [row] = await db
    .delete(passkeys)
    .where(and(eq(passkeys.userId, userId), eq(passkeys.id, id)))
    .returning();
  return row ?? null;
}

/** Every passkey of a user (an admin's MFA reset: the device is lost with the other factors). */
export async function deleteUserPasskeys(db: DbOrTx, userId: string): Promise<number> {
  return (await db.delete(passkeys).where(eq(passkeys.userId, userId)).returning({ id: passkeys.id })).length;
}

/**
 * Records a verified assertion in one statement that only succeeds while the stored counter is
 * still below the new one (or both are 0: an authenticator without a counter, as synced
 * passkeys often are). Of two assertions racing with one cloned credential, at most one passes
 * (WebAuthn L3 §6.1.1 signature counter; §7.2 step 21).
 */
export async function claimAssertion(db: DbOrTx, input: { id: string; counter: number; backedUp: boolean; now: Date }): Promise<PasskeyRow | null> {
  const grows = input.counter === 0 ? eq(passkeys.counter, 0) : lt(passkeys.counter, input.counter);
  const [row] = await db
    .update(passkeys)
    .set({ counter: input.counter, backedUp: input.backedUp, lastUsedAt: input.now })
    .where(and(eq(passkeys.id, input.id), grows))
    .returning();
  return row ?? null;
}
