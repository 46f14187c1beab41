import { and, asc, eq, isNotNull, isNull, lt, or } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import type { FactorMethod } from '../../shared/mfa-methods.js';
import { countPasskeys } from '../passkeys/queries.js';
import { setUserMfaState } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { mfaFactors, recoveryCodes, type MfaFactorRow } from './tables.js';

export async function findFactor(db: DbOrTx, userId: string, method: FactorMethod): Promise<MfaFactorRow | null> {
  const [row] = await db
    .select()
    .from(mfaFactors)
    .where(and(eq(mfaFactors.userId, userId), eq(mfaFactors.method, method)));
  return row ?? null;
}

export async function enabledFactors(db: DbOrTx, userId: string): Promise<MfaFactorRow[]> {
  return db
    .select()
    .from(mfaFactors)
    .where(and(eq(mfaFactors.userId, userId), isNotNull(mfaFactors.enabledAt)))
    .orderBy(asc(mfaFactors.enabledAt));
}

/** Starts (or restarts) a TOTP enrollment: a new secret, not enabled. Refused by the caller when TOTP is enabled already. */
export async function savePendingTotp(db: DbOrTx, userId: string, secretEnc: string, now: Date): Promise<void> {
  await db
    .insert(mfaFactors)
    .values({ userId, method: 'TOTP', secretEnc, createdAt: now })
    .onConflictDoUpdate({ target: [mfaFactors.userId, mfaFactors.method], set: { secretEnc, createdAt: now, enabledAt: null, lastUsedStep: null } });
}

/** Enables a factor (creating its row for SMS and EMAIL). */
export async function enableFactor(db: DbOrTx, input: { userId: string; method: FactorMethod; phone?: string | null; now: Date }): Promise<void> {
  await db
    .insert(mfaFactors)
    .values({ userId: input.userId, method: input.method, phone: input.phone ?? null, createdAt: input.now, enabledAt: input.now })
    .onConflictDoUpdate({ target: [mfaFactors.userId, mfaFactors.method], set: { phone: input.phone ?? null, enabledAt: input.now } });
}

/**
 * Accepts a TOTP time step once: one statement that only succeeds while the step is newer than
 * the last accepted one. Of two logins sending one code at once, exactly one gets the row.
 */
export async function claimTotpStep(db: DbOrTx, factorId: string, step: number): Promise<boolean> {
  const rows = await db
    .update(mfaFactors)
    .set({ lastUsedStep: step })
    .where(and(eq(mfaFactors.id, factorId), or(isNull(mfaFactors.lastUsedStep), lt(mfaFactors.lastUsedStep, step))))
    .returning({ id: mfaFactors.id });
  return rows.length > 0;
}

export async function deleteFactor(db: DbOrTx, userId: string, method: FactorMethod): Promise<boolean> {
  const rows = await db
    .delete(mfaFactors)
    .where(and(eq(mfaFactors.userId, userId), eq(mfaFactors.method, method)))
    .returning({ id: mfaFactors.id });
  return rows.length > 0;
}

/** Every factor of a user, enrolled or half-enrolled (the recovery codes go with syncUserMfa). */
export async function deleteAllFactors(db: DbOrTx, userId: string): Promise<void> {
  await db.delete(mfaFactors).where(eq(mfaFactors.userId, userId));
}

/** Replaces every recovery code of a user (the old ones stop working in the same transaction). */
export async function replaceRecoveryCodes(db: DbOrTx, userId: string, hashes: string[], now: Date): Promise<void> {
  await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  if (hashes.length) await db.insert(recoveryCodes).values(hashes.map((codeHash) => ({ userId, codeHash, createdAt: now })));
}

/** Uses a recovery code up in one statement: of concurrent uses of one code exactly one succeeds. */
export async function useRecoveryCode(db: DbOrTx, userId: string, codeHash: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt)))
    .returning({ id: recoveryCodes.id });
  return rows.length > 0;
}

export async function unusedRecoveryCodes(db: DbOrTx, userId: string): Promise<number> {
  return db.$count(recoveryCodes, and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
}

/**
 * Writes the denormalised MFA state of the user row from the factors table (and PASSKEY while
 * the user has a passkey), in the transaction that locked the row (lockUserMfa). The default
 * stays `preferred` while that factor is enabled, else it becomes the oldest enabled factor.
 */
export async function syncUserMfa(db: DbOrTx, userId: string, preferred: string | null): Promise<UserRow> {
  const methods = (await enabledFactors(db, userId)).map((f) => f.method);
  if ((await countPasskeys(db, userId)) > 0) methods.push('PASSKEY');
  const defaultMfaMethod = preferred && methods.includes(preferred) ? preferred : (methods[0] ?? null);
  if (!methods.length) await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  return setUserMfaState(db, userId, { mfaMethods: methods, defaultMfaMethod });
}
