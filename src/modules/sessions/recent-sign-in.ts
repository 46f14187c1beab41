import type { Deps } from '../../deps.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import type { SessionRecord } from '../../shared/store.js';
import { recordAudit } from '../audit/service.js';
import { ReauthRequiredError } from './errors.js';

/** How recent a sign-in must be for a sensitive operation (README "Errors": REAUTH_REQUIRED). */
export const RECENT_SIGN_IN_MS = 5 * 60_000;

/**
 * When the session's user last proved who they are. A session is opened by a sign-in (the
 * password, a magic link) or by finishing MFA (a new session: verify2fa ends the pending one),
 * and a refresh rotates tokens inside it without opening a new one, so the session's creation
 * is its authentication time and a refresh never renews it.
 */
export function getAuthenticatedAt(session: Pick<SessionRecord, 'createdAt'>): number {
  return session.createdAt;
}

/**
 * Throws REAUTH_REQUIRED unless the caller's session was signed in within the last 5 minutes:
 * a stolen or left-open session must not enroll the thief's factor or move the account to
 * another address (ASVS 5.0 V7.5.1: re-authentication before changing the email, the phone or
 * the MFA configuration). A pending MFA login has no session: refused too.
 */
export function requireRecentSignIn(deps: Pick<Deps, 'clock'>, auth: { session: Pick<SessionRecord, 'createdAt'> | null }): void {
  if (!auth.session || deps.clock.now() - getAuthenticatedAt(auth.session) > RECENT_SIGN_IN_MS) throw new ReauthRequiredError();
}

/**
 * Ends every other session (and pending login) of a user, keeping the caller's: offered after a
 * change to the factors, so a session opened before MFA was on (or by the factor just removed)
 * does not live on (ASVS 5.0 V7.4.3). Audited as session.revoked with the reason.
 */
export async function endOtherSessions(
  deps: Pick<Deps, 'store' | 'db' | 'clock' | 'random'>,
  userId: string,
  keepSessionId: string,
  meta: RequestMeta,
  reason: string,
): Promise<number> {
  const ended = await deps.store.sessions.deleteByUser(userId, keepSessionId);
  if (ended.length) await recordAudit(deps, deps.db, { action: 'session.revoked', userId, meta, metadata: { reason, sessions: ended.length, others: true } });
  return ended.length;
}
