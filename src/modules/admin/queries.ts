import { and, asc, count, eq, exists, gt, ilike, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { userRoles } from '../roles/tables.js';
import { users, type UserRow } from '../users/tables.js';

export type UserFilter = { search?: string | null; role?: string | null; disabled?: boolean | null };

/** `%` and `_` in a search are literal characters, not patterns. */
function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function conditions(db: DbOrTx, filter: UserFilter): SQL[] {
  const where: SQL[] = [];
  const search = filter.search?.trim();
  if (search) where.push(or(ilike(users.email, likePattern(search)), ilike(users.name, likePattern(search)))!);
  if (filter.role) {
    where.push(
      exists(
        db
          .select({ one: sql`1` })
          .from(userRoles)
          .where(and(eq(userRoles.userId, users.id), eq(userRoles.role, filter.role))),
      ),
    );
  }
  if (filter.disabled != null) where.push(eq(users.disabled, filter.disabled));
  return where;
}

/**
 * A page of users in (created_at, id) order, after the cursor's key. New sign-ups land after
 * every existing key, so paging while users are added visits each user once.
 */
export async function pageUsers(db: DbOrTx, filter: UserFilter, after: [string, string] | null, limit: number): Promise<UserRow[]> {
  const where = conditions(db, filter);
  if (after) where.push(sql`(${users.createdAt}, ${users.id}) > (${after[0]}::timestamptz, ${after[1]}::uuid)`);
  return db
    .select()
    .from(users)
    .where(and(...where))
    .orderBy(asc(users.createdAt), asc(users.id))
    .limit(limit);
}

export async function countUsers(db: DbOrTx, filter: UserFilter): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(users)
    .where(and(...conditions(db, filter)));
  return row?.n ?? 0;
}

/**
 * Reads a user and locks the row until the transaction ends: two admin changes of one account
 * run one after the other, each checking what the other committed. FOR NO KEY UPDATE, so rows
 * that only reference the user (its audit events, its roles) can still be written meanwhile.
 */
export async function lockUser(db: DbOrTx, id: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).for('no key update');
  return row ?? null;
}

/** The dashboard's headline numbers, in two queries. */
export async function countUsersOverview(db: DbOrTx, since: Date) {
  const [totals] = await db
    .select({
      total: count(),
      emailVerified: sql<number>`count(*) filter (where ${users.emailVerified})`.mapWith(Number),
      mfaEnabled: sql<number>`count(*) filter (where cardinality(${users.mfaMethods}) > 0)`.mapWith(Number),
      disabled: sql<number>`count(*) filter (where ${users.disabled})`.mapWith(Number),
      registeredLast24h: sql<number>`count(*) filter (where ${gt(users.createdAt, since)})`.mapWith(Number),
      activeLast24h: sql<number>`count(*) filter (where ${gt(users.lastLoginAt, since)})`.mapWith(Number),
    })
    .from(users);
  const byRole = await db.select({ role: userRoles.role, count: count() }).from(userRoles).groupBy(userRoles.role).orderBy(asc(userRoles.role));
  return { ...totals!, byRole };
}
