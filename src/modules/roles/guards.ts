import type { DbOrTx } from '../../db/client.js';
import { BadInputError } from '../../shared/errors.js';
import { findUserById } from '../users/queries.js';
import { TargetOutranksError } from './errors.js';
import { countEnabledHolders, getUserAccess, lockRole } from './queries.js';

/**
 * Least privilege for targets (ASVS 5.0 V8.2.1/V8.2.2, function- and data-level authorization):
 * an admin action on another account needs every cap that account has. Without it a role with
 * only users:write could change an admin's email to an address it owns, reset the password and
 * sign in as the admin, or disable every admin. Run it inside the transaction of the change.
 */
export async function assertCanActOn(db: DbOrTx, actorId: string, targetId: string): Promise<void> {
  if (actorId === targetId) return;
  const held = new Set((await getUserAccess(db, actorId)).caps);
  const missing = (await getUserAccess(db, targetId)).caps.filter((c) => !held.has(c));
  if (missing.length) throw new TargetOutranksError('This account', missing);
}

/** A change that can leave an account without the admin role, or the admin role without an enabled holder. */
export type AdminLoss = { roles?: string[]; disabled?: boolean; deleted?: boolean };

function mayLoseAdmin(change: AdminLoss): boolean {
  return !!change.deleted || change.disabled === true || change.roles !== undefined;
}

/**
 * Serialises every change that may remove an enabled admin: the row lock on the `admin` role,
 * held until the transaction ends. Take it first in the transaction, before any user row lock
 * (one lock order everywhere, so two such changes cannot deadlock). Being an admin is holding
 * the `admin` role (upsertRole cannot change it, deleteRole refuses it), so these paths are
 * all: updateUser roles/disabled, deleteUser and deleteAccount.
 */
export async function lockAdminChanges(db: DbOrTx, change: AdminLoss): Promise<void> {
  if (mayLoseAdmin(change)) await lockRole(db, 'admin');
}

/**
 * Refuses to remove, disable or delete the last enabled admin: nobody could administer the
 * server after it. Reads the target and counts after taking the admin lock, so two admins
 * demoting each other at the same moment cannot both pass (under READ COMMITTED each statement
 * after the lock sees what the other transaction committed).
 */
export async function guardLastAdmin(
  db: DbOrTx,
  userId: string,
  change: AdminLoss,
  refusal: { message: string; field?: string } = { message: 'This is the last enabled admin', field: 'id' },
): Promise<void> {
  const losing = !!change.deleted || change.disabled === true || (change.roles !== undefined && !change.roles.includes('admin'));
  if (!losing) return;
  await lockRole(db, 'admin');
  const user = await findUserById(db, userId);
  if (!user || user.disabled || !(await getUserAccess(db, userId)).roles.includes('admin')) return;
  if ((await countEnabledHolders(db, 'admin')) <= 1) throw new BadInputError(refusal.message, refusal.field);
}
