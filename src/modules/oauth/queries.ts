import { and, asc, count, eq, ne } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { identities, oauthProviders, type IdentityRow, type OAuthProviderRow } from './tables.js';

export async function listProviders(db: DbOrTx): Promise<OAuthProviderRow[]> {
  return db.select().from(oauthProviders).orderBy(asc(oauthProviders.name));
}

export async function findProvider(db: DbOrTx, name: string): Promise<OAuthProviderRow | null> {
  const [row] = await db.select().from(oauthProviders).where(eq(oauthProviders.name, name));
  return row ?? null;
}

/** Inserts or replaces a provider by name; `created` tells which. */
export async function saveProvider(db: DbOrTx, values: typeof oauthProviders.$inferInsert): Promise<{ row: OAuthProviderRow; created: boolean }> {
  const existing = await findProvider(db, values.name);
  if (!existing) {
    const [row] = await db.insert(oauthProviders).values(values).returning();
    return { row: row!, created: true };
  }
  const { createdAt: _created, ...changes } = values;
  const [row] = await db.update(oauthProviders).set(changes).where(eq(oauthProviders.name, values.name)).returning();
  return { row: row!, created: false };
}

export async function deleteProviderRow(db: DbOrTx, name: string): Promise<boolean> {
  const rows = await db.delete(oauthProviders).where(eq(oauthProviders.name, name)).returning({ name: oauthProviders.name });
  return rows.length > 0;
}

export async function findIdentity(db: DbOrTx, provider: string, subject: string): Promise<IdentityRow | null> {
  const [row] = await db
    .select()
    .from(identities)
    .where(and(eq(identities.provider, provider), eq(identities.subject, subject)));
  return row ?? null;
}

/** Null when (provider, subject) is already linked (no exception: the transaction stays usable). */
export async function insertIdentity(db: DbOrTx, values: typeof identities.$inferInsert): Promise<IdentityRow | null> {
  const [row] = await db
    .insert(identities)
    .values(values)
    .onConflictDoNothing({ target: [identities.provider, identities.subject] })
    .returning();
  return row ?? null;
}

export async function touchIdentity(db: DbOrTx, id: string, values: Pick<IdentityRow, 'email' | 'emailVerified' | 'lastUsedAt'>): Promise<void> {
  await db.update(identities).set(values).where(eq(identities.id, id));
}

export async function listIdentities(db: DbOrTx, userId: string): Promise<IdentityRow[]> {
  return db.select().from(identities).where(eq(identities.userId, userId)).orderBy(asc(identities.createdAt), asc(identities.id));
}

export async function deleteIdentity(db: DbOrTx, userId: string, id: string): Promise<IdentityRow | null> {
  const [row] = await db
    .delete(identities)
    .where(and(eq(identities.id, id), eq(identities.userId, userId)))
    .returning();
  return row ?? null;
}

/**
 * The user's identities other than `exceptId` whose provider is configured and enabled: those
 * the user can still sign in with (an identity of a deleted or disabled provider cannot).
 */
export async function countUsableIdentities(db: DbOrTx, userId: string, exceptId?: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(identities)
    .innerJoin(oauthProviders, eq(oauthProviders.name, identities.provider))
    .where(and(eq(identities.userId, userId), eq(oauthProviders.enabled, true), exceptId ? ne(identities.id, exceptId) : undefined));
  return row?.n ?? 0;
}
