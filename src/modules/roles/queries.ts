import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { preparedQuery } from '../../db/prepared.js';
import { users, type UserRow } from '../users/tables.js';
import { roles, userRoles, type RoleRow } from './tables.js';

export type Access = { roles: string[]; caps: string[] };

const accessRows = preparedQuery('user_access', (db) =>
  db
    .select({ direct: users.caps, role: roles.name, caps: roles.caps })
    .from(users)
    .leftJoin(userRoles, eq(userRoles.userId, users.id))
    .leftJoin(roles, eq(roles.name, userRoles.role))
    .where(eq(users.id, sql.placeholder('userId'))),
);

/** A user row with the user's access, one row per role (none: one row with a null role). */
const userWithAccess = (db: DbOrTx) =>
  db
    .select({ user: users, role: roles.name, caps: roles.caps })
    .from(users)
    .leftJoin(userRoles, eq(userRoles.userId, users.id))
    .leftJoin(roles, eq(roles.name, userRoles.role));
const userWithAccessById = preparedQuery('user_with_access_by_id', (db) => userWithAccess(db).where(eq(users.id, sql.placeholder('id'))));
const userWithAccessByEmail = preparedQuery('user_with_access_by_email', (db) => userWithAccess(db).where(eq(users.email, sql.placeholder('email'))));

export type UserWithAccess = { user: UserRow; access: Access };

function withAccess(rows: Array<{ user: UserRow; role: string | null; caps: string[] | null }>): UserWithAccess | null {
  const user = rows[0]?.user;
  return user ? { user, access: accessFrom(rows.map((row) => ({ direct: row.user.caps, role: row.role, caps: row.caps }))) } : null;
}

/**
 * The user row and their access in one query, for a sign-in or a refresh: the token they get
 * carries that access, so it costs no second round trip (getUserAccess).
 */
export async function findUserWithAccessById(db: DbOrTx, id: string): Promise<UserWithAccess | null> {
  return withAccess(await userWithAccessById(db, { id }));
}

/** findUserWithAccessById by the (normalised) email. */
export async function findUserWithAccessByEmail(db: DbOrTx, email: string): Promise<UserWithAccess | null> {
  return withAccess(await userWithAccessByEmail(db, { email }));
}

type AccessRow = { direct: string[] | null; role: string | null; caps: string[] | null };

/** A user's role names and effective caps: the union of their roles' caps and direct grants (one query). */
export async function getUserAccess(db: DbOrTx, userId: string): Promise<Access> {
  return accessFrom(await accessRows(db, { userId }));
}

/** getUserAccess for many users in one query, in the order of `userIds` (a missing user has none). */
export async function getUsersAccess(db: DbOrTx, userIds: readonly string[]): Promise<Access[]> {
  if (userIds.length === 0) return [];
  const rows = await db
    .select({ userId: users.id, direct: users.caps, role: roles.name, caps: roles.caps })
    .from(users)
    .leftJoin(userRoles, eq(userRoles.userId, users.id))
    .leftJoin(roles, eq(roles.name, userRoles.role))
    .where(inArray(users.id, [...new Set(userIds)]));
  const byUser = new Map<string, AccessRow[]>();
  for (const row of rows) {
    const list = byUser.get(row.userId);
    if (list) list.push(row);
    else byUser.set(row.userId, [row]);
  }
  return userIds.map((id) => accessFrom(byUser.get(id) ?? []));
}

function accessFrom(rows: AccessRow[]): Access {
  const caps = new Set<string>(rows[0]?.direct ?? []);
  const names: string[] = [];
  for (const row of rows) {
    if (!row.role) continue;
    names.push(row.role);
    for (const cap of row.caps ?? []) caps.add(cap);
  }
  return { roles: names.sort(), caps: [...caps].sort() };
}

export async function assignRoles(db: DbOrTx, userId: string, names: string[]): Promise<void> {
  if (names.length)
    await db
      .insert(userRoles)
      .values(names.map((role) => ({ userId, role })))
      .onConflictDoNothing();
}

/**
 * Creates a built-in role when missing. `admin` is also kept at every cap of this version's
 * catalogue; `user` keeps whatever caps an admin gave it.
 */
export async function upsertBuiltinRole(db: DbOrTx, name: string, description: string, caps: string[], syncCaps: boolean): Promise<void> {
  const insert = db.insert(roles).values({ name, description, caps, builtin: true });
  await (syncCaps ? insert.onConflictDoUpdate({ target: roles.name, set: { caps: sql`excluded.caps`, builtin: true } }) : insert.onConflictDoNothing());
}

export async function listRoles(db: DbOrTx): Promise<RoleRow[]> {
  return db.select().from(roles).orderBy(asc(roles.name));
}

export async function findRoles(db: DbOrTx, names: string[]): Promise<RoleRow[]> {
  return names.length ? db.select().from(roles).where(inArray(roles.name, names)) : [];
}

/**
 * Reads a role and takes its row lock until the transaction ends (FOR NO KEY UPDATE: it
 * serialises changes to the role and its holders, yet inserts into user_roles, whose foreign key
 * only takes KEY SHARE, go on). Null when there is no such role.
 */
export async function lockRole(db: DbOrTx, name: string): Promise<RoleRow | null> {
  const [row] = await db.select().from(roles).where(eq(roles.name, name)).for('no key update');
  return row ?? null;
}

export async function saveRole(db: DbOrTx, values: { name: string; description: string | null; caps: string[]; now: Date }): Promise<RoleRow> {
  const [row] = await db
    .insert(roles)
    .values({ name: values.name, description: values.description, caps: values.caps, createdAt: values.now, updatedAt: values.now })
    .onConflictDoUpdate({ target: roles.name, set: { description: values.description, caps: values.caps, updatedAt: values.now } })
    .returning();
  return row!;
}

export async function removeRole(db: DbOrTx, name: string): Promise<boolean> {
  return (await db.delete(roles).where(eq(roles.name, name)).returning({ name: roles.name })).length > 0;
}

/** Replaces a user's roles. */
export async function setUserRoles(db: DbOrTx, userId: string, names: string[]): Promise<void> {
  await db.delete(userRoles).where(eq(userRoles.userId, userId));
  await assignRoles(db, userId, names);
}

/** Users holding a role who are not disabled (the last-admin guard). */
export async function countEnabledHolders(db: DbOrTx, role: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(userRoles)
    .innerJoin(users, eq(users.id, userRoles.userId))
    .where(and(eq(userRoles.role, role), eq(users.disabled, false)));
  return row?.n ?? 0;
}
