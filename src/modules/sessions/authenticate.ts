import type { Deps } from '../../deps.js';
import type { SessionRecord } from '../../shared/store.js';
import type { TokenRefusal } from '../tokens/service.js';
import { findPendingLogin, type PendingLogin } from './pending.js';

export type AuthState = {
  userId: string;
  sessionId: string;
  /** True for the pending token of an unfinished MFA login: only verify2fa, sendMfaCode and logout accept it. */
  pending: boolean;
  amr: string[];
  /** The live session; null for a pending token. */
  session: SessionRecord | null;
  /** A pending token's login, read once here for verify2fa and sendMfaCode; null for a full token. */
  pendingLogin: PendingLogin | null;
};

/** lastSeenAt is written at most this often per session, so activity costs no write per request. */
const TOUCH_EVERY_MS = 60_000;

export type AuthOutcome = { auth: AuthState } | { refused: TokenRefusal } | null;

/**
 * Access token → verified claims → live session (or live pending login). A token whose session
 * is gone (logout, password change, revocation, on any instance) authenticates nobody from the
 * next request on. null: no credential presented.
 */
export async function authenticateRequest(deps: Pick<Deps, 'tokens' | 'store' | 'clock' | 'logger'>, credential: string | null): Promise<AuthOutcome> {
  if (credential === null) return null;
  const invalid = { refused: 'invalid_token' } as const;
  if (!credential) return invalid;
  const verified = await deps.tokens.verify(credential);
  if (!('token' in verified)) return verified;
  const { token } = verified;
  const now = deps.clock.now();
  // A token whose session or pending login has ended is "revoked": invalid_token (RFC 6750 §3.1).
  if (token.pending) {
    const pendingLogin = await findPendingLogin(deps, token.sessionId);
    if (!pendingLogin || pendingLogin.userId !== token.userId) return invalid;
    return { auth: { userId: token.userId, sessionId: token.sessionId, pending: true, amr: token.amr, session: null, pendingLogin } };
  }
  const session = await deps.store.sessions.get(token.sessionId, now);
  if (!session || session.userId !== token.userId || session.pending) return invalid;
  if (now - session.lastSeenAt > TOUCH_EVERY_MS) {
    deps.store.sessions.touch(session.id, now).catch((err) => deps.logger.warn({ err }, 'session touch failed'));
  }
  return { auth: { userId: token.userId, sessionId: token.sessionId, pending: false, amr: token.amr, session, pendingLogin: null } };
}
