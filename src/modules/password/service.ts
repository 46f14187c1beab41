import type { Deps } from '../../deps.js';
import { UnauthenticatedError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { findUserById, updateUser } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { InvalidCredentialsError } from './errors.js';
import { checkPasswordPolicy, normalizePassword } from './policy.js';

/** Re-authentication for sensitive changes (ASVS 5.0 V6.2.3, V7.5.1): the current password must verify. */
export async function verifyCurrentPassword(deps: Pick<Deps, 'db' | 'hasher' | 'dummyPasswordHash'>, userId: string, password: string): Promise<UserRow> {
  const user = await findUserById(deps.db, userId);
  if (!user) throw new UnauthenticatedError();
  const ok = await deps.hasher.verify(user.passwordHash ?? deps.dummyPasswordHash, normalizePassword(password));
  if (!ok || !user.passwordHash) throw new InvalidCredentialsError('The current password is wrong');
  return user;
}

/** Changes the password and ends every other session of the user (ASVS 5.0 V7.4.3). */
export async function changePassword(
  deps: Deps,
  auth: { userId: string; sessionId: string },
  input: { currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<boolean> {
  const user = await verifyCurrentPassword(deps, auth.userId, input.currentPassword);
  checkPasswordPolicy(input.newPassword, { minLength: deps.config.passwordMinLength, email: user.email, appName: deps.config.appName });
  const passwordHash = await deps.hasher.hash(normalizePassword(input.newPassword));
  await deps.db.transaction(async (tx) => {
    await updateUser(tx, user.id, { passwordHash, updatedAt: new Date(deps.clock.now()) });
    await recordAudit(deps, tx, { action: 'password.changed', userId: user.id, meta });
  });
  const revoked = await deps.store.sessions.deleteByUser(user.id, auth.sessionId);
  if (revoked.length) deps.logger.info({ userId: user.id, sessions: revoked.length }, 'other sessions revoked after password change');
  return true;
}
