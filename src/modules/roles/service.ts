import type { DbOrTx } from '../../db/client.js';
import type { Deps } from '../../deps.js';
import { BadInputError, NotFoundError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { accessChanged } from './access-cache.js';
import { BUILTIN_ROLES, CAPS } from './caps.js';
import { CapNotHeldError, TargetOutranksError } from './errors.js';
import { findRoles, getUserAccess, listRoles, lockRole, removeRole, saveRole, upsertBuiltinRole } from './queries.js';
import type { RoleRow } from './tables.js';

/**
 * At start: the built-in roles exist, and `admin` holds every cap of this version's catalogue
 * (instances already running see the new caps from their next request on).
 */
export async function ensureBuiltinRoles(deps: Pick<Deps, 'db' | 'store' | 'random'>): Promise<void> {
  await deps.db.transaction(async (tx) => {
    for (const [name, role] of Object.entries(BUILTIN_ROLES)) await upsertBuiltinRole(tx, name, role.description, role.caps, name === 'admin');
  });
  await accessChanged(deps);
}

/** Caps must come from the catalogue; returns them sorted and deduplicated. */
export function validCaps(caps: readonly string[]): string[] {
  const unknown = caps.filter((c) => !(CAPS as readonly string[]).includes(c));
  if (unknown.length) throw new BadInputError(`Unknown capabilities: ${unknown.join(', ')}`, 'caps');
  return [...new Set(caps)].sort();
}

/** Throws FORBIDDEN unless the actor currently holds every cap in `granted`. */
export async function assertCanGrant(db: DbOrTx, actorId: string, granted: Iterable<string>): Promise<void> {
  const held = new Set((await getUserAccess(db, actorId)).caps);
  const missing = [...new Set(granted)].filter((c) => !held.has(c));
  if (missing.length) throw new CapNotHeldError(missing.sort());
}

/**
 * A role's caps act on every holder: changing or deleting a role needs every cap it has before
 * and after the change (least privilege for targets, as roles/guards.ts assertCanActOn for users).
 */
async function assertHoldsRole(db: DbOrTx, actorId: string, name: string, caps: readonly string[]): Promise<void> {
  const held = new Set((await getUserAccess(db, actorId)).caps);
  const missing = [...new Set(caps)].filter((c) => !held.has(c)).sort();
  if (missing.length) throw new TargetOutranksError(`The role ${name}`, missing);
}

/** The caps that assigning these roles would grant; unknown role names are BAD_USER_INPUT. */
export async function collectRoleCaps(db: DbOrTx, names: readonly string[]): Promise<string[]> {
  const unique = [...new Set(names)];
  const found = await findRoles(db, unique);
  const missing = unique.filter((n) => !found.some((r) => r.name === n));
  if (missing.length) throw new BadInputError(`Unknown roles: ${missing.join(', ')}`, 'roles');
  return found.flatMap((r) => r.caps);
}

export function roles(deps: Pick<Deps, 'db'>): Promise<RoleRow[]> {
  return listRoles(deps.db);
}

const ROLE_NAME = /^[a-z][a-z0-9_-]{1,39}$/;

/**
 * Creates or replaces a role. Built-in `admin` is fixed (it always holds every cap), so no role
 * change can make an admin stop being one. The actor must hold every cap the role gains, and
 * every cap it had: removing a cap changes the access of each holder.
 */
export async function upsertRole(
  deps: Deps,
  actorId: string,
  input: { name: string; caps: readonly string[]; description?: string | null },
  meta: RequestMeta,
): Promise<RoleRow> {
  if (!ROLE_NAME.test(input.name)) throw new BadInputError('Role names are 2-40 characters: a-z, 0-9, _ and -, starting with a letter', 'name');
  if (input.name === 'admin') throw new BadInputError('The built-in admin role always holds every capability', 'name');
  const caps = validCaps(input.caps);
  const description = input.description?.trim().slice(0, 500) || null;
  const saved = await deps.db.transaction(async (tx) => {
    // The row lock: concurrent changes of one role check what the other committed.
    const existing = await lockRole(tx, input.name);
    await assertCanGrant(
      tx,
      actorId,
      caps.filter((c) => !existing?.caps.includes(c)),
    );
    if (existing) await assertHoldsRole(tx, actorId, existing.name, existing.caps);
    const row = await saveRole(tx, { name: input.name, description: description ?? existing?.description ?? null, caps, now: new Date(deps.clock.now()) });
    await recordAudit(deps, tx, { action: 'role.upserted', actorId, userId: null, meta, metadata: { role: row.name, caps, created: !existing } });
    return row;
  });
  // After the commit: the role's holders get its new caps on their next request, on every instance.
  await accessChanged(deps);
  return saved;
}

export async function deleteRole(deps: Deps, actorId: string, name: string, meta: RequestMeta): Promise<boolean> {
  if (name in BUILTIN_ROLES) throw new BadInputError('Built-in roles cannot be deleted', 'name');
  await deps.db.transaction(async (tx) => {
    const existing = await lockRole(tx, name);
    if (!existing) throw new NotFoundError('Role');
    // Taking a role away from its holders is a change of their access: only someone who holds all of it may.
    await assertHoldsRole(tx, actorId, existing.name, existing.caps);
    await removeRole(tx, name);
    await recordAudit(deps, tx, { action: 'role.deleted', actorId, userId: null, meta, metadata: { role: name, caps: existing.caps } });
  });
  await accessChanged(deps);
  return true;
}
