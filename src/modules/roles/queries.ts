import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { preparedQuery } from '../../db/prepared.js';
import { users } from '../users/tables.js';
import { roles, userRoles } from './tables.js';

export type Access = { roles: string[]; caps: string[] };

const accessRows = preparedQuery('user_access', (db) =>
  db
    .select({ direct: users.caps, role: roles.name, caps: roles.caps })
    .from(users)
    .leftJoin(userRoles, eq(userRoles.userId, users.id))
    .leftJoin(roles, eq(roles.name, userRoles.role))
    .where(eq(users.id, sql.placeholder('userId'))),
);

/** A user's role names and effective caps: the union of their roles' caps and direct grants (one query). */
export async function getUserAccess(db: DbOrTx, userId: string): Promise<Access> {
  const rows = await accessRows(db, { userId });
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
  if (names.length) await db.insert(userRoles).values(names.map((role) => ({ userId, role }))).onConflictDoNothing();
}

/** Inserts or refreshes a built-in role. */
export async function upsertBuiltinRole(db: DbOrTx, name: string, description: string, caps: string[]): Promise<void> {
  await db
    .insert(roles)
    .values({ name, description, caps, builtin: true })
    .onConflictDoUpdate({ target: roles.name, set: { caps: sql`excluded.caps`, builtin: true } });
}
