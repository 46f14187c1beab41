import { eq, sql } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
import type { Db, DbOrTx } from '../../db/client.js';
import { users, type UserRow } from './tables.js';

const byIdQuery = (db: Db) => db.select().from(users).where(eq(users.id, sql.placeholder('id'))).prepare('find_user_by_id');

/**
 * The lookup behind every `me`: built once per database handle instead of per request
 * (drizzle's query building was a tenth of an authenticated request's CPU). Keyed by the
 * handle, so nothing is shared between apps; transactions use the plain query.
 */
const prepared = new WeakMap<Db, ReturnType<typeof byIdQuery>>();

export async function findUserById(db: DbOrTx, id: string): Promise<UserRow | null> {
  if (db instanceof PgTransaction) {
    const [row] = await db.select().from(users).where(eq(users.id, id));
    return row ?? null;
  }
  let query = prepared.get(db);
  if (!query) prepared.set(db, (query = byIdQuery(db)));
  const [row] = await query.execute({ id });
  return row ?? null;
}

export async function findUserByEmail(db: DbOrTx, email: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.email, email));
  return row ?? null;
}

/** Null when the email is taken (no exception, so the surrounding transaction stays usable). */
export async function insertUser(db: DbOrTx, values: typeof users.$inferInsert): Promise<UserRow | null> {
  const [row] = await db.insert(users).values(values).onConflictDoNothing({ target: users.email }).returning();
  return row ?? null;
}

export async function updateUser(db: DbOrTx, id: string, values: Partial<typeof users.$inferInsert>): Promise<UserRow | null> {
  const [row] = await db.update(users).set(values).where(eq(users.id, id)).returning();
  return row ?? null;
}

export async function deleteUser(db: DbOrTx, id: string): Promise<boolean> {
  const rows = await db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
  return rows.length > 0;
}
