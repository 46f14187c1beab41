import { and, eq, gt, lt, ne } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { sha256 } from '../../shared/crypto.js';
import type { Random } from '../../shared/random.js';
import { oneTimeTokens, type OneTimeTokenRow } from './tables.js';

export type TokenPurpose = 'email_verification' | 'password_reset' | 'magic_link';

/** 256 random bits, base64url: the only form a token exists in outside the mail. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Issues a token of a purpose for a user and voids every older one of that purpose (only the
 * newest link works). Run it inside the transaction that records the request; send the mail after it commits.
 */
export async function issueOneTimeToken(
  db: DbOrTx,
  random: Random,
  input: { userId: string; email: string; purpose: TokenPurpose; now: number; ttlMs: number },
): Promise<string> {
  const token = random.token(32);
  const now = new Date(input.now);
  await db.delete(oneTimeTokens).where(and(eq(oneTimeTokens.userId, input.userId), eq(oneTimeTokens.purpose, input.purpose)));
  // Expired rows of anyone go too: the index keeps this a short range scan.
  await db.delete(oneTimeTokens).where(lt(oneTimeTokens.expiresAt, now));
  await db.insert(oneTimeTokens).values({
    userId: input.userId,
    purpose: input.purpose,
    email: input.email,
    tokenHash: sha256(token),
    createdAt: now,
    expiresAt: new Date(input.now + input.ttlMs),
  });
  return token;
}

/**
 * What issuing costs, for an address without an account: the same statements in a transaction,
 * changing nothing, so background work after the answer does not set known addresses apart
 * either (a later request of the same client would feel it).
 */
export async function rehearseOneTimeToken(db: Db, random: Random, input: { purpose: TokenPurpose; now: number }): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(oneTimeTokens).where(and(eq(oneTimeTokens.userId, random.uuid()), eq(oneTimeTokens.purpose, input.purpose)));
    await tx.delete(oneTimeTokens).where(lt(oneTimeTokens.expiresAt, new Date(input.now)));
    await tx
      .select({ id: oneTimeTokens.id })
      .from(oneTimeTokens)
      .where(eq(oneTimeTokens.tokenHash, sha256(random.token(32))));
  });
}

/** The live token of that purpose, without using it up (to validate input before consuming). */
export async function findOneTimeToken(db: DbOrTx, token: string, purpose: TokenPurpose, now: number): Promise<OneTimeTokenRow | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const [row] = await db
    .select()
    .from(oneTimeTokens)
    .where(and(eq(oneTimeTokens.tokenHash, sha256(token)), eq(oneTimeTokens.purpose, purpose), gt(oneTimeTokens.expiresAt, new Date(now))));
  return row ?? null;
}

/**
 * Uses a token up in one statement: of any number of concurrent calls with one token, exactly
 * one gets the row (a DELETE takes the row lock; the others find it gone). Null when the
 * token is unknown, of another purpose, expired or already used.
 */
export async function consumeOneTimeToken(db: DbOrTx, token: string, purpose: TokenPurpose, now: number): Promise<OneTimeTokenRow | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const [row] = await db
    .delete(oneTimeTokens)
    .where(and(eq(oneTimeTokens.tokenHash, sha256(token)), eq(oneTimeTokens.purpose, purpose), gt(oneTimeTokens.expiresAt, new Date(now))))
    .returning();
  return row ?? null;
}

/**
 * An address change: voids the user's pending tokens (every purpose) that were sent to any
 * other address than `email`, so a link mailed to the old address can never work again, not
 * even if the address is changed back. Returns the purposes voided, for the audit row.
 */
export async function voidTokensForOtherAddresses(db: DbOrTx, userId: string, email: string): Promise<string[]> {
  const rows = await db
    .delete(oneTimeTokens)
    .where(and(eq(oneTimeTokens.userId, userId), ne(oneTimeTokens.email, email)))
    .returning({ purpose: oneTimeTokens.purpose });
  return [...new Set(rows.map((r) => r.purpose))].sort();
}
