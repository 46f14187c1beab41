import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { users } from '../users/tables.js';
import { roles, userRoles } from './tables.js';

export type Access = { roles: string[]; caps: string[] };

/** A user's role names and effective caps: the union of their roles' caps and direct grants. */
export async function getUserAccess(db: DbOrTx, userId: string): Promise<Access> {
  const [held, direct] = await Promise.all([
    db.select({ name: roles.name, caps: roles.caps }).from(userRoles).innerJoin(roles, eq(roles.name, userRoles.role)).where(eq(userRoles.userId, userId)),
    db.select({ caps: users.caps }).from(users).where(eq(users.id, userId)),
  ]);
  const caps = new Set<string>(direct[0]?.caps ?? []);
  for (const role of held) for (const cap of role.caps) caps.add(cap);
  return { roles: held.map((r) => r.name).sort(), caps: [...caps].sort() };
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
