import type { DbOrTx } from '../../db/client.js';
import type { Deps } from '../../deps.js';
import { clampPageSize, decodeCursor, toPage } from '../../shared/pagination.js';
import { BadInputError, DomainError, NotFoundError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { checkPasswordPolicy, normalizePassword } from '../password/policy.js';
import { notifyEmailChanged } from '../messaging/send.js';
import { prepareLink } from '../verification/links.js';
import { assertCanActOn, guardLastAdmin, lockAdminChanges } from '../roles/guards.js';
import { assertCanGrant, collectRoleCaps, validCaps } from '../roles/service.js';
import { accessChanged } from '../roles/access-cache.js';
import { getUserAccess, setUserRoles } from '../roles/queries.js';
import { EmailTakenError } from '../users/errors.js';
import { deleteUser as removeUser, findUserByEmail, findUserById, insertUser, updateUser as saveUser } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { normalizeEmail, optionalText } from '../users/validation.js';
import { voidTokensForOtherAddresses } from '../verification/tokens.js';
import { countUsers, countUsersOverview, lockUser, pageUsers, type UserFilter } from './queries.js';

const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export async function findUser(deps: Pick<Deps, 'db'>, id: string): Promise<UserRow | null> {
  return UUID.test(id) ? findUserById(deps.db, id) : null;
}

async function requireUser(db: DbOrTx, id: string): Promise<UserRow> {
  const user = UUID.test(id) ? await findUserById(db, id) : null;
  if (!user) throw new NotFoundError('User');
  return user;
}

/**
 * The target of an admin change, row-locked, after checking that the actor holds every cap it
 * has (roles/guards.ts). Call it after lockAdminChanges: one lock order everywhere.
 */
async function lockTarget(db: DbOrTx, actorId: string, id: string): Promise<UserRow> {
  const user = UUID.test(id) ? await lockUser(db, id) : null;
  if (!user) throw new NotFoundError('User');
  await assertCanActOn(db, actorId, user.id);
  return user;
}

export async function listUsers(deps: Pick<Deps, 'db'>, filter: UserFilter, first: number | null | undefined, after: string | null | undefined) {
  const size = clampPageSize(first);
  const cursor = decodeCursor(after, 2) as [string, string] | null;
  // Exactly what encodeCursor wrote: an ISO time from toISOString() and a uuid.
  if (cursor && !(typeof cursor[0] === 'string' && ISO_TIME.test(cursor[0]) && UUID.test(String(cursor[1])))) {
    throw new BadInputError('Invalid cursor', 'after');
  }
  const [rows, totalCount] = await Promise.all([pageUsers(deps.db, filter, cursor, size + 1), countUsers(deps.db, filter)]);
  return { ...toPage(rows, size, (u) => [u.createdAt.toISOString(), u.id]), totalCount };
}

export async function usersOverview(deps: Pick<Deps, 'db' | 'clock'>) {
  return countUsersOverview(deps.db, new Date(deps.clock.now() - DAY_MS));
}

/** roles:assign is needed to change roles or caps, and only caps the actor holds can be granted. */
async function checkGrant(db: DbOrTx, actorId: string, target: { roles: string[]; caps: string[] }, next: { roles?: string[]; caps?: string[] }) {
  if (!next.roles && !next.caps) return;
  const actor = await getUserAccess(db, actorId);
  if (!actor.caps.includes('roles:assign')) throw new DomainError('FORBIDDEN', 'Changing roles or capabilities needs roles:assign');
  const addedRoles = (next.roles ?? []).filter((r) => !target.roles.includes(r));
  const granted = [...(await collectRoleCaps(db, addedRoles)), ...(next.caps ?? []).filter((c) => !target.caps.includes(c))];
  await assertCanGrant(db, actorId, granted);
}

export type CreateUserInput = {
  email: string;
  password?: string | null;
  name?: string | null;
  roles?: string[] | null;
  caps?: string[] | null;
  emailVerified?: boolean | null;
};

/**
 * An admin creates an account. Without a password the new user is mailed a link to set one
 * (APP_URL/reset-password?token=…, valid 24 hours), after the transaction commits.
 */
export async function createUser(
  deps: Pick<Deps, 'clock' | 'config' | 'db' | 'hasher' | 'messages' | 'random'>,
  actorId: string,
  input: CreateUserInput,
  meta: RequestMeta,
): Promise<UserRow> {
  const email = normalizeEmail(input.email);
  const roles = [...new Set(['user', ...(input.roles ?? [])])];
  const caps = input.caps ? validCaps(input.caps) : [];
  if (input.password) checkPasswordPolicy(input.password, { minLength: deps.config.passwordMinLength, email, appName: deps.config.appName });
  const passwordHash = input.password ? await deps.hasher.hash(normalizePassword(input.password)) : null;
  const name = optionalText(input.name, 'name', 200);
  const now = new Date(deps.clock.now());
  const { row, send } = await deps.db.transaction(async (tx) => {
    await checkGrant(tx, actorId, { roles: ['user'], caps: [] }, { roles: input.roles ? roles : undefined, caps: input.caps ? caps : undefined });
    const row = await insertUser(tx, { email, passwordHash, name, caps, emailVerified: input.emailVerified ?? false, createdAt: now, updatedAt: now });
    if (!row) throw new EmailTakenError();
    await setUserRoles(tx, row.id, roles);
    await recordAudit(deps, tx, { action: 'admin.user_created', actorId, userId: row.id, meta, metadata: { roles, caps, withPassword: !!passwordHash } });
    return { row, send: passwordHash ? null : await prepareLink(deps, tx, row, 'set_password') };
  });
  send?.();
  return row;
}

export type UpdateUserInput = {
  email?: string | null;
  name?: string | null;
  roles?: string[] | null;
  caps?: string[] | null;
  disabled?: boolean | null;
  emailVerified?: boolean | null;
};

/**
 * An admin changes an account: any field needs every cap the account holds. Disabling it ends
 * every one of its sessions at once; a new email voids the links mailed to the old one.
 */
export async function updateUser(
  deps: Pick<Deps, 'clock' | 'config' | 'db' | 'messages' | 'random' | 'store'>,
  actorId: string,
  id: string,
  input: UpdateUserInput,
  meta: RequestMeta,
): Promise<UserRow> {
  const email = input.email != null ? normalizeEmail(input.email) : undefined;
  const roles = input.roles != null ? [...new Set(input.roles)] : undefined;
  const caps = input.caps != null ? validCaps(input.caps) : undefined;
  const disabled = input.disabled ?? undefined;
  let previousEmail = '';
  const updated = await deps.db.transaction(async (tx) => {
    await lockAdminChanges(tx, { roles, disabled });
    const target = await lockTarget(tx, actorId, id);
    previousEmail = target.email;
    const access = await getUserAccess(tx, target.id);
    await checkGrant(tx, actorId, { roles: access.roles, caps: target.caps }, { roles, caps });
    if (roles) await collectRoleCaps(tx, roles);
    await guardLastAdmin(tx, target.id, { roles, disabled });
    if (email && email !== target.email && (await findUserByEmail(tx, email))) throw new EmailTakenError();
    const changes = {
      ...(email !== undefined ? { email } : {}),
      ...(input.name !== undefined ? { name: optionalText(input.name, 'name', 200) ?? null } : {}),
      ...(caps ? { caps } : {}),
      ...(disabled !== undefined ? { disabled } : {}),
      // A new address is unproven until its owner follows a link, unless the admin says otherwise.
      ...(input.emailVerified != null ? { emailVerified: input.emailVerified } : email !== undefined && email !== target.email ? { emailVerified: false } : {}),
    };
    const row = (await saveUser(tx, target.id, { ...changes, updatedAt: new Date(deps.clock.now()) }))!;
    if (roles) await setUserRoles(tx, target.id, roles);
    // Links mailed to the old address (reset, magic link, verification) must not outlive it (ASVS 5.0 V6.4).
    const voidedLinks = email !== undefined && email !== target.email ? await voidTokensForOtherAddresses(tx, target.id, email) : undefined;
    const fields = [...Object.keys(changes), ...(roles ? ['roles'] : [])];
    const metadata = {
      fields,
      ...(roles ? { roles } : {}),
      ...(caps ? { caps } : {}),
      ...(disabled !== undefined ? { disabled } : {}),
      ...(voidedLinks ? { voidedLinks } : {}),
    };
    await recordAudit(deps, tx, { action: 'admin.user_updated', actorId, userId: target.id, meta, metadata });
    return row;
  });
  if (disabled) await deps.store.sessions.deleteByUser(updated.id);
  // After the commit: new roles or grants count from the next request on, on every instance.
  if (roles || caps) await accessChanged(deps);
  if (updated.email !== previousEmail) notifyEmailChanged(deps, updated, previousEmail);
  return updated;
}

export async function deleteUser(deps: Pick<Deps, 'clock' | 'db' | 'random' | 'store'>, actorId: string, id: string, meta: RequestMeta): Promise<boolean> {
  const target = await deps.db.transaction(async (tx) => {
    await lockAdminChanges(tx, { deleted: true });
    const user = await lockTarget(tx, actorId, id);
    await guardLastAdmin(tx, user.id, { deleted: true });
    await removeUser(tx, user.id);
    await recordAudit(deps, tx, { action: 'admin.user_deleted', actorId, userId: user.id, meta, metadata: { email: user.email } });
    return user;
  });
  await deps.store.sessions.deleteByUser(target.id);
  return true;
}

/** Ends every session of a user, on every instance, from their next request on. */
export async function revokeUserSessions(
  deps: Pick<Deps, 'clock' | 'db' | 'random' | 'store'>,
  actorId: string,
  id: string,
  meta: RequestMeta,
): Promise<boolean> {
  const user = await requireUser(deps.db, id);
  await assertCanActOn(deps.db, actorId, user.id);
  const ended = await deps.store.sessions.deleteByUser(user.id);
  await recordAudit(deps, deps.db, { action: 'admin.sessions_revoked', actorId, userId: user.id, meta, metadata: { sessions: ended.length } });
  return true;
}
