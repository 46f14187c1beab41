import type { Deps } from '../../deps.js';
import { UnauthenticatedError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { clearLoginFailures, enforceLimit, passLoginGate } from '../abuse/service.js';
import { recordAudit } from '../audit/service.js';
import { sendNotice } from '../messaging/send.js';
import { findUserById, updateUser } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { InvalidCredentialsError } from './errors.js';
import { checkPasswordPolicy, normalizePassword } from './policy.js';
import { assertHashingCapacity } from '../../shared/password-hasher.js';

/** The operations that re-authenticate with the current password (audit metadata). */
export type ReauthOperation = 'changePassword' | 'deleteAccount' | 'removeMfaMethod' | 'regenerateRecoveryCodes';

/**
 * Re-authentication for sensitive changes (ASVS 5.0 V6.2.3, V7.5.1): the current password must
 * verify. A holder of a stolen access token must not guess it faster than a login could: every
 * try counts against `reauth.account` and in the account's login failure streak (its delays and
 * lockout, NIST SP 800-63B §5.2.2), a wrong one is audited as password.reauth_failed, and a right
 * one ends the streak as a login does.
 */
export async function verifyCurrentPassword(
  deps: Pick<Deps, 'db' | 'hasher' | 'dummyPasswordHash' | 'config' | 'store' | 'clock' | 'random' | 'captcha'>,
  userId: string,
  password: string,
  input: { operation: ReauthOperation; meta: RequestMeta },
): Promise<UserRow> {
  const { meta, operation } = input;
  assertHashingCapacity(deps.hasher);
  await enforceLimit(deps, 'reauth.account', userId, meta);
  const user = await findUserById(deps.db, userId);
  if (!user) throw new UnauthenticatedError();
  await passLoginGate(deps, user.email, meta);
  const ok = await deps.hasher.verify(user.passwordHash ?? deps.dummyPasswordHash, normalizePassword(password));
  if (!ok || !user.passwordHash) {
    await recordAudit(deps, deps.db, { action: 'password.reauth_failed', outcome: 'FAILURE', userId: user.id, meta, metadata: { operation } });
    throw new InvalidCredentialsError('The current password is wrong');
  }
  await clearLoginFailures(deps, user.email);
  return user;
}

/** Changes the password and ends every other session of the user (ASVS 5.0 V7.4.3). */
export async function changePassword(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'dummyPasswordHash' | 'hasher' | 'logger' | 'messages' | 'random' | 'store'>,
  auth: { userId: string; sessionId: string },
  input: { currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<boolean> {
  const user = await verifyCurrentPassword(deps, auth.userId, input.currentPassword, { operation: 'changePassword', meta });
  checkPasswordPolicy(input.newPassword, { minLength: deps.config.passwordMinLength, email: user.email, appName: deps.config.appName });
  const passwordHash = await deps.hasher.hash(normalizePassword(input.newPassword));
  await deps.db.transaction(async (tx) => {
    await updateUser(tx, user.id, { passwordHash, updatedAt: new Date(deps.clock.now()) });
    await recordAudit(deps, tx, { action: 'password.changed', userId: user.id, meta });
  });
  const revoked = await deps.store.sessions.deleteByUser(user.id, auth.sessionId);
  if (revoked.length) deps.logger.info({ userId: user.id, sessions: revoked.length }, 'other sessions revoked after password change');
  sendNotice(deps, user, 'password_changed', { meta });
  return true;
}
