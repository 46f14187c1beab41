import type { Deps } from '../../deps.js';
import { AccountDisabledError, InvalidTokenError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { clearLoginFailures, clearMfaFailures } from '../abuse/service.js';
import { recordAudit } from '../audit/service.js';
import { sendNotice } from '../messaging/send.js';
import { findUserById, updateUser } from '../users/queries.js';
import { requestMailedLink } from '../verification/links.js';
import { markEmailVerified } from '../verification/service.js';
import { consumeOneTimeToken, findOneTimeToken } from '../verification/tokens.js';
import { checkPasswordPolicy, normalizePassword } from './policy.js';
import { assertHashingCapacity } from '../../shared/password-hasher.js';

/** Mails a reset link to a known, enabled account; answers true for any address (no enumeration). */
export function requestPasswordReset(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'random' | 'store'>,
  input: { email: string; captchaToken?: string | null },
  meta: RequestMeta,
): Promise<boolean> {
  return requestMailedLink(deps, input, meta, { operation: 'requestPasswordReset', action: 'password.reset_requested', link: 'reset_password' });
}

/**
 * Sets a new password with a reset link. The link is checked, then the new password against the
 * policy (a weak one leaves the link usable), then the link is used up in the same transaction
 * that changes the password and ends every session (ASVS 5.0 V6.4.x; README "Email and phone flows": a reset revokes
 * all sessions). It does not sign in, and MFA stays as it was. The login lockout ends: the
 * reset proved control of the mailbox (NIST SP 800-63B §5.2.2).
 */
export async function resetPassword(
  deps: Pick<Deps, 'clock' | 'config' | 'db' | 'hasher' | 'logger' | 'messages' | 'random' | 'store'>,
  input: { token: string; newPassword: string },
  meta: RequestMeta,
): Promise<boolean> {
  assertHashingCapacity(deps.hasher);
  const now = deps.clock.now();
  const pending = await findOneTimeToken(deps.db, input.token, 'password_reset', now);
  const user = pending ? await findUserById(deps.db, pending.userId) : null;
  if (!pending || !user || user.email !== pending.email) throw new InvalidTokenError();
  if (user.disabled) throw new AccountDisabledError();
  checkPasswordPolicy(input.newPassword, { minLength: deps.config.passwordMinLength, email: user.email, appName: deps.config.appName });
  const passwordHash = await deps.hasher.hash(normalizePassword(input.newPassword));
  const revoked = await deps.db.transaction(async (tx) => {
    const used = await consumeOneTimeToken(tx, input.token, 'password_reset', now);
    if (!used || used.userId !== user.id) throw new InvalidTokenError();
    const current = (await updateUser(tx, user.id, { passwordHash, updatedAt: new Date(now) })) ?? user;
    await markEmailVerified(deps, tx, current, meta, 'password_reset');
    // Sessions end before the commit: should this fail, the password stays as it was, never
    // changed with the old sessions still alive.
    const ended = await deps.store.sessions.deleteByUser(user.id);
    await recordAudit(deps, tx, { action: 'password.reset', userId: user.id, actorId: null, meta, metadata: { sessionsRevoked: ended.length } });
    return ended.length;
  });
  await clearLoginFailures(deps, user.email);
  await clearMfaFailures(deps, user.id);
  sendNotice(deps, user, 'password_reset', { meta });
  deps.logger.info({ userId: user.id, sessions: revoked }, 'password reset; every session revoked');
  return true;
}
