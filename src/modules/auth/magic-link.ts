import type { Deps } from '../../deps.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import type { AuthResult } from '../sessions/auth-payload.js';
import { completeSignIn } from '../sessions/sign-in.js';
import { sendPendingLoginCode } from '../mfa/challenge.js';
import { findUserById } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { markEmailVerified } from '../verification/service.js';
import { requestMailedLink } from '../verification/links.js';
import { consumeOneTimeToken } from '../verification/tokens.js';
import { AccountDisabledError, InvalidTokenError } from '../../shared/errors.js';

/** Mails a sign-in link to a known, enabled account; answers true for any address (no enumeration). */
export function requestMagicLink(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'random' | 'store'>,
  input: { email: string; captchaToken?: string | null },
  meta: RequestMeta,
): Promise<boolean> {
  return requestMailedLink(deps, input, meta, { operation: 'requestMagicLink', action: 'magic_link.requested', link: 'magic_link' });
}

/**
 * Signs in with a magic link: used up in one statement (of concurrent uses exactly one signs
 * in), only for the address it was sent to. It proves control of the mailbox, so the email
 * counts as verified (and REQUIRE_EMAIL_VERIFICATION is met). amr: `email` (RFC 8176 lets
 * deployments use values outside its registry; none there names a mailed link).
 */
export async function loginWithMagicLink(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'keys' | 'messages' | 'random' | 'store'>,
  token: string,
  meta: RequestMeta,
): Promise<AuthResult> {
  const now = deps.clock.now();
  const user = await deps.db.transaction(async (tx): Promise<UserRow | null> => {
    const row = await consumeOneTimeToken(tx, token, 'magic_link', now);
    const found = row ? await findUserById(tx, row.userId) : null;
    if (!row || !found || found.email !== row.email) return null;
    return found.disabled ? found : markEmailVerified(deps, tx, found, meta, 'magic_link');
  });
  if (!user) throw new InvalidTokenError();
  if (user.disabled) {
    await recordAudit(deps, deps.db, {
      action: 'user.login_failed',
      outcome: 'FAILURE',
      userId: user.id,
      meta,
      metadata: { reason: 'disabled', method: 'magic_link' },
    });
    throw new AccountDisabledError();
  }
  return completeSignIn(deps, user, { meta, methods: ['email'], firstFactor: 'magic_link', onPendingLogin: sendPendingLoginCode });
}
