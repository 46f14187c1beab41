import type { DbOrTx } from '../../db/client.js';
import type { Deps } from '../../deps.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { checkCaptchaIfRequired, clearLoginFailures, enforceLimit } from '../abuse/service.js';
import { AccountDisabledError, InvalidTokenError } from '../auth/errors.js';
import { recordAudit } from '../audit/service.js';
import { enforceRecipientLimits, enforceSendIpLimit, sendLinkMail } from '../messaging/send.js';
import { findUserByEmail, findUserById, updateUser } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { normalizeEmail } from '../users/validation.js';
import { markEmailVerified } from '../verification/service.js';
import { consumeOneTimeToken, findOneTimeToken, issueOneTimeToken, rehearseOneTimeToken, TOKEN_TTL_MS, type TokenPurpose } from '../verification/tokens.js';
import { checkPasswordPolicy, normalizePassword } from './policy.js';

/**
 * An account created without a password: a reset token that lives as long as a welcome mail
 * should, issued inside the registering transaction; returns the send to run after commit.
 */
export async function prepareSetPassword(deps: Deps, tx: DbOrTx, user: UserRow): Promise<() => void> {
  const ttlMs = TOKEN_TTL_MS.set_password;
  const token = await issueOneTimeToken(tx, deps.random, { userId: user.id, email: user.email, purpose: 'password_reset', now: deps.clock.now(), ttlMs });
  return () => sendLinkMail(deps, user, 'set_password', token, ttlMs);
}

/**
 * The first half of the mailed flows (password reset, magic link): limits, CAPTCHA, lookup.
 * Always answers true, with the same limits and the same work for known and unknown addresses
 * (ASVS 5.0 V6.3.7 / OWASP Forgot Password: no account enumeration); only a known, enabled
 * account gets a mail: its token is issued and mailed after the response (measured by
 * `BENCH_ONLY=reset npm run bench`).
 */
export async function requestMailedLink(
  deps: Deps,
  input: { email: string; captchaToken?: string | null },
  meta: RequestMeta,
  flow: {
    operation: 'requestPasswordReset' | 'requestMagicLink';
    action: 'password.reset_requested' | 'magic_link.requested';
    purpose: TokenPurpose;
    issue: (tx: DbOrTx, user: UserRow) => Promise<() => void>;
  },
): Promise<boolean> {
  await enforceSendIpLimit(deps, meta);
  await checkCaptchaIfRequired(deps, flow.operation, input.captchaToken, meta);
  const email = normalizeEmail(input.email);
  await enforceRecipientLimits(deps, email, meta);
  const user = await findUserByEmail(deps.db, email);
  const known = !!user && !user.disabled;
  // The same work in the request either way (one lookup, one audit row); the token and its mail
  // come after the response, so its timing does not tell known addresses from unknown ones.
  const metadata = known ? undefined : { email, reason: user ? 'disabled' : 'unknown_email' };
  await recordAudit(deps, deps.db, { action: flow.action, outcome: known ? 'SUCCESS' : 'FAILURE', userId: user?.id ?? null, actorId: null, meta, metadata });
  deps.messages.defer({ purpose: flow.operation, userId: user?.id ?? null }, async () => {
    if (!known) return rehearseOneTimeToken(deps.db, deps.random, { purpose: flow.purpose, now: deps.clock.now() });
    const send = await deps.db.transaction((tx) => flow.issue(tx, user));
    send();
  });
  return true;
}

export function requestPasswordReset(deps: Deps, input: { email: string; captchaToken?: string | null }, meta: RequestMeta): Promise<boolean> {
  return requestMailedLink(deps, input, meta, {
    operation: 'requestPasswordReset',
    action: 'password.reset_requested',
    purpose: 'password_reset',
    issue: async (tx, user) => {
      const ttlMs = TOKEN_TTL_MS.password_reset;
      const token = await issueOneTimeToken(tx, deps.random, { userId: user.id, email: user.email, purpose: 'password_reset', now: deps.clock.now(), ttlMs });
      return () => sendLinkMail(deps, user, 'reset_password', token, ttlMs);
    },
  });
}

/**
 * Sets a new password with a reset link. The link is checked, then the new password against the
 * policy (a weak one leaves the link usable), then the link is used up in the same transaction
 * that changes the password and ends every session (ASVS 5.0 V6.4.x; DESIGN.md: a reset revokes
 * all sessions). It does not sign in, and MFA stays as it was. The login lockout ends: the
 * reset proved control of the mailbox (NIST SP 800-63B §5.2.2).
 */
export async function resetPassword(deps: Deps, input: { token: string; newPassword: string }, meta: RequestMeta): Promise<boolean> {
  await enforceLimit(deps, 'verify.ip', meta.ip ?? 'unknown', meta);
  const now = deps.clock.now();
  const pending = await findOneTimeToken(deps.db, input.token, 'password_reset', now);
  const user = pending ? await findUserById(deps.db, pending.userId) : null;
  if (!pending || !user || user.email !== pending.email) throw new InvalidTokenError();
  if (user.disabled) throw new AccountDisabledError();
  checkPasswordPolicy(input.newPassword, { minLength: deps.config.passwordMinLength, email: user.email });
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
  deps.logger.info({ userId: user.id, sessions: revoked }, 'password reset; every session revoked');
  return true;
}
