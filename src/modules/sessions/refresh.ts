import type { Deps } from '../../deps.js';
import { InvalidTokenError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { mintRefreshToken, openSuccessor, parseRefreshToken, sealSuccessor } from '../tokens/service.js';
import { findUserWithAccessById } from '../roles/queries.js';
import { type AuthResult, buildAuthPayload } from './auth-payload.js';
import { issueAccessToken } from './service.js';

/**
 * Rotates a refresh token. Exactly one of any concurrent presentations rotates it; within
 * REFRESH_REUSE_GRACE the others get the same successor (two tabs stay signed in); after
 * that, presenting a rotated token is reuse of a stolen token: the session is revoked
 * (RFC 9700 §4.14.2, refresh token rotation).
 */
export async function refreshSession(
  deps: Pick<Deps, 'config' | 'clock' | 'random' | 'keys' | 'store' | 'db'>,
  token: string | null | undefined,
  meta: RequestMeta,
): Promise<AuthResult> {
  const parsed = token ? parseRefreshToken(token) : null;
  if (!token || !parsed) throw new InvalidTokenError();
  const next = mintRefreshToken(deps, parsed.sessionId);
  const result = await deps.store.sessions.rotateRefresh({
    sessionId: parsed.sessionId,
    oldHash: parsed.hash,
    next: { hash: next.hash },
    successorBox: sealSuccessor(token, next.token),
    now: deps.clock.now(),
    graceMs: deps.config.refreshReuseGraceMs,
  });
  if (result.status === 'invalid') throw new InvalidTokenError();
  if (result.status === 'reused') {
    await recordAudit(deps, deps.db, {
      action: 'token.reuse_detected',
      outcome: 'FAILURE',
      userId: result.session.userId,
      actorId: null,
      meta,
      metadata: { sessionId: result.session.id },
    });
    throw new InvalidTokenError();
  }
  const refreshToken = result.status === 'rotated' ? next.token : openSuccessor(token, result.successorBox);
  const found = await findUserWithAccessById(deps.db, result.session.userId);
  const user = found?.user;
  if (!refreshToken || !user || user.disabled) {
    if (!user || user.disabled) await deps.store.sessions.delete(result.session.id);
    throw new InvalidTokenError();
  }
  const access = await issueAccessToken(deps, user, result.session, deps.db, found.access);
  return buildAuthPayload({ access, refresh: { token: refreshToken, expiresAt: result.session.expiresAt }, user });
}
