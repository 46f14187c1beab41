import type { Deps } from '../../deps.js';
import { UnauthenticatedError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { verifyCurrentPassword } from '../password/service.js';
import { guardLastAdmin } from '../roles/guards.js';
import { deleteUser, findUserById, updateUser } from './queries.js';
import type { UserRow } from './tables.js';
import { optionalHttpUrl, optionalLanguage, optionalText } from './validation.js';

export type ProfileInput = {
  name?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  bio?: string | null;
  language?: string | null;
  avatarUrl?: string | null;
};

/** The caller's own row, for showing it (`me`): from the user cache, never for a decision. */
export async function getUser(deps: Pick<Deps, 'userCache'>, userId: string): Promise<UserRow> {
  const user = await deps.userCache.get(userId);
  if (!user) throw new UnauthenticatedError();
  return user;
}

/** Updates the caller's own profile; omitted fields stay, null or blank clears them. */
export async function updateProfile(deps: Pick<Deps, 'clock' | 'db' | 'random'>, userId: string, input: ProfileInput, meta: RequestMeta): Promise<UserRow> {
  const changes = Object.fromEntries(
    Object.entries({
      name: optionalText(input.name, 'name', 200),
      firstName: optionalText(input.firstName, 'firstName', 100),
      lastName: optionalText(input.lastName, 'lastName', 100),
      bio: optionalText(input.bio, 'bio', 2000, { multiline: true }),
      language: optionalLanguage(input.language),
      avatarUrl: optionalHttpUrl(input.avatarUrl, 'avatarUrl'),
    }).filter(([, v]) => v !== undefined),
  );
  if (!Object.keys(changes).length) {
    const user = await findUserById(deps.db, userId);
    if (!user) throw new UnauthenticatedError();
    return user;
  }
  return deps.db.transaction(async (tx) => {
    const row = await updateUser(tx, userId, { ...changes, updatedAt: new Date(deps.clock.now()) });
    if (!row) throw new UnauthenticatedError();
    await recordAudit(deps, tx, { action: 'user.updated', userId, meta, metadata: { fields: Object.keys(changes) } });
    return row;
  });
}

/**
 * Deletes the caller's account after re-checking the password, and ends all of its sessions.
 * The last enabled admin cannot delete itself (checked under the admin lock, as admin changes are).
 */
export async function deleteAccount(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'dummyPasswordHash' | 'hasher' | 'random' | 'store'>,
  userId: string,
  password: string,
  meta: RequestMeta,
): Promise<boolean> {
  const user = await verifyCurrentPassword(deps, userId, password, { operation: 'deleteAccount', meta });
  await deps.db.transaction(async (tx) => {
    await guardLastAdmin(tx, user.id, { deleted: true }, { message: 'You are the last enabled admin: make another account an admin before deleting this one' });
    await deleteUser(tx, user.id);
    await recordAudit(deps, tx, { action: 'user.deleted', userId: user.id, meta, metadata: { self: true } });
  });
  await deps.store.sessions.deleteByUser(user.id);
  return true;
}
