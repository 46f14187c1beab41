import type { DbOrTx } from '../../db/client.js';
import type { Deps } from '../../deps.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { checkCaptchaIfRequired } from '../abuse/service.js';
import { recordAudit } from '../audit/service.js';
import { enforceRecipientLimits, enforceSendIpLimit, queueLinkMail, type LinkKind } from '../messaging/send.js';
import { findUserByEmail } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { normalizeEmail } from '../users/validation.js';
import { issueOneTimeToken, rehearseOneTimeToken, type TokenPurpose } from './tokens.js';

/**
 * Each mailed link: the token purpose it carries and its lifetime (OWASP Forgot Password cheat
 * sheet: short-lived, single use). A welcome link of an account created without a password is a
 * reset link that lives as long as a welcome mail should.
 */
export const LINKS: Readonly<Record<LinkKind, { purpose: TokenPurpose; ttlMs: number }>> = {
  verify_email: { purpose: 'email_verification', ttlMs: 24 * 3_600_000 },
  reset_password: { purpose: 'password_reset', ttlMs: 3_600_000 },
  set_password: { purpose: 'password_reset', ttlMs: 24 * 3_600_000 },
  magic_link: { purpose: 'magic_link', ttlMs: 15 * 60_000 },
};

/**
 * Issues the token of a link for a user inside `tx` (voiding older ones of its purpose), queues
 * its mail in the same transaction (durable queue: the mail exists exactly when the token does),
 * and returns what to run once `tx` has committed: waking the worker, so it goes out at once.
 */
export async function prepareLink(
  deps: Pick<Deps, 'clock' | 'config' | 'messages' | 'random'>,
  tx: DbOrTx,
  user: UserRow,
  kind: LinkKind,
): Promise<() => void> {
  const { purpose, ttlMs } = LINKS[kind];
  const token = await issueOneTimeToken(tx, deps.random, { userId: user.id, email: user.email, purpose, now: deps.clock.now(), ttlMs });
  await queueLinkMail(deps, tx, user, kind, token, ttlMs);
  return () => deps.messages.wake();
}

/**
 * The first half of the mailed flows (password reset, magic link): limits, CAPTCHA, lookup.
 * Always answers true, with the same limits and the same work for known and unknown addresses
 * (ASVS 5.0 V6.3.7 / OWASP Forgot Password: no account enumeration); only a known, enabled
 * account gets a mail: its token is issued and mailed after the response, and for any other
 * address the same statements run changing nothing (measured by `BENCH_ONLY=reset npm run bench`).
 */
export async function requestMailedLink(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'random' | 'store'>,
  input: { email: string; captchaToken?: string | null },
  meta: RequestMeta,
  flow: {
    operation: 'requestPasswordReset' | 'requestMagicLink';
    action: 'password.reset_requested' | 'magic_link.requested';
    link: 'reset_password' | 'magic_link';
  },
): Promise<boolean> {
  await enforceSendIpLimit(deps, meta);
  await checkCaptchaIfRequired(deps, flow.operation, input.captchaToken, meta);
  const email = normalizeEmail(input.email);
  await enforceRecipientLimits(deps, email, meta);
  const user = await findUserByEmail(deps.db, email);
  const known = !!user && !user.disabled;
  const metadata = known ? undefined : { email, reason: user ? 'disabled' : 'unknown_email' };
  await recordAudit(deps, deps.db, { action: flow.action, outcome: known ? 'SUCCESS' : 'FAILURE', userId: user?.id ?? null, actorId: null, meta, metadata });
  deps.messages.defer({ purpose: flow.operation, userId: user?.id ?? null }, async () => {
    if (!known) return rehearseOneTimeToken(deps.db, deps.random, { purpose: LINKS[flow.link].purpose, now: deps.clock.now() });
    const send = await deps.db.transaction((tx) => prepareLink(deps, tx, user, flow.link));
    send();
  });
  return true;
}
