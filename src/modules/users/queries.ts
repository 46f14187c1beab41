import { eq, sql } from 'drizzle-orm';
import { afterCommit } from '../../db/after-commit.js';
import type { Db, DbOrTx } from '../../db/client.js';
import { type AlongsideInsert, preparedQuery } from '../../db/prepared.js';
import { users, type UserRow } from './tables.js';

const byId = preparedQuery('find_user_by_id', (db) =>
  db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder('id'))),
);
const byEmail = preparedQuery('find_user_by_email', (db) =>
  db
    .select()
    .from(users)
    .where(eq(users.email, sql.placeholder('email'))),
);

type RowListener = (userId: string) => Promise<void>;
const listeners = new WeakMap<object, Set<RowListener>>();

/**
 * Calls `listener` with the id of every user row this file updates or deletes once the write
 * has committed, before the write's transaction resolves (see
 * after-commit.ts): users/cache.ts voids its copies there. Returns the unsubscribe.
 */
export function onUserRowChanged(db: Db, listener: RowListener): () => void {
  let set = listeners.get(db);
  if (!set) listeners.set(db, (set = new Set()));
  set.add(listener);
  return () => void set.delete(listener);
}

async function changed(db: DbOrTx, userId: string | undefined): Promise<void> {
  if (!userId) return;
  await afterCommit(db, async (root) => {
    for (const listener of listeners.get(root) ?? []) await listener(userId);
  });
}

/** The lookup behind every `me` (prepared once per database handle). */
export async function findUserById(db: DbOrTx, id: string): Promise<UserRow | null> {
  const [row] = await byId(db, { id });
  return row ?? null;
}

export async function findUserByEmail(db: DbOrTx, email: string): Promise<UserRow | null> {
  const [row] = await byEmail(db, { email });
  return row ?? null;
}

/** Null when the email is taken (no exception, so the surrounding transaction stays usable). */
export async function insertUser(db: DbOrTx, values: typeof users.$inferInsert): Promise<UserRow | null> {
  // No change to report: a new id has no cached copy anywhere.
  const [row] = await db.insert(users).values(values).onConflictDoNothing({ target: users.email }).returning();
  return row ?? null;
}

export async function updateUser(db: DbOrTx, id: string, values: Partial<typeof users.$inferInsert>): Promise<UserRow | null> {
  const [row] = await db.update(users).set(values).where(eq(users.id, id)).returning();
  await changed(db, row?.id);
  return row ?? null;
}

/** Prepared updateUserWith statements, one per shape (the columns set, and the insert's shape). */
const updatesWith = new Map<string, (db: DbOrTx, values: Record<string, unknown>) => Promise<UserRow[]>>();

/**
 * updateUser and another write (audit/service.ts auditInsert) in one statement, the insert as a
 * data-modifying WITH: both happen or neither, without a transaction, in one round trip instead
 * of four (BEGIN, UPDATE, INSERT, COMMIT). PostgreSQL runs a data-modifying WITH exactly once
 * whether or not the statement reads it. Every sign-in runs it, so it is built and prepared once
 * per shape: drizzle's building of it cost more than the statement's round trip.
 */
export async function updateUserWith(db: DbOrTx, id: string, values: Partial<typeof users.$inferInsert>, alongside: AlongsideInsert): Promise<UserRow | null> {
  const set = Object.entries(values).filter(([, value]) => value !== undefined);
  // A null is part of the shape: a placeholder would go through the column's encoder.
  const shape = `${set.map(([column, value]) => (value === null ? `${column}=null` : column)).join(',')};${alongside.shape}`;
  let update = updatesWith.get(shape);
  if (!update) {
    update = preparedQuery(`update_user_with:${shape}`, (handle) =>
      handle
        .with(handle.$with('alongside').as(alongside.build(handle)))
        .update(users)
        .set(Object.fromEntries(set.map(([column, value]) => [column, value === null ? null : sql.placeholder(`set_${column}`)])))
        .where(eq(users.id, sql.placeholder('id')))
        .returning(),
    );
    updatesWith.set(shape, update);
  }
  const [row] = await update(db, { ...alongside.values, ...Object.fromEntries(set.map(([column, value]) => [`set_${column}`, value])), id });
  await changed(db, row?.id);
  return row ?? null;
}

export async function deleteUser(db: DbOrTx, id: string): Promise<boolean> {
  const rows = await db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
  await changed(db, rows[0]?.id);
  return rows.length > 0;
}

/**
 * Locks the user row for the rest of the transaction: changes to a user's factors run one at a
 * time (two first factors confirmed at once must not both hand out recovery codes).
 */
export async function lockUserMfa(db: DbOrTx, userId: string): Promise<Pick<UserRow, 'mfaMethods' | 'defaultMfaMethod'> | null> {
  const [row] = await db
    .select({ mfaMethods: users.mfaMethods, defaultMfaMethod: users.defaultMfaMethod })
    .from(users)
    .where(eq(users.id, userId))
    .for('update');
  return row ?? null;
}

/** Writes the user row's denormalised MFA state (mfa/queries.ts syncUserMfa computes it from the factors). */
export async function setUserMfaState(db: DbOrTx, userId: string, state: Pick<UserRow, 'mfaMethods' | 'defaultMfaMethod'>): Promise<UserRow> {
  const [row] = await db.update(users).set(state).where(eq(users.id, userId)).returning();
  await changed(db, row?.id);
  return row!;
}
