import type { DbOrTx } from '../../db/client.js';
import type { Deps } from '../../deps.js';
import { NotFoundError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import type { SessionRecord } from '../../shared/store.js';
import { recordAudit } from '../audit/service.js';
import { type Access, getUserAccess } from '../roles/queries.js';
import { mintRefreshToken, signAccessToken } from '../tokens/service.js';
import type { UserRow } from '../users/tables.js';
import { type AuthResult, buildAuthPayload } from './auth-payload.js';
import { endPendingLogin } from './pending.js';

type SessionDeps = Pick<Deps, 'config' | 'clock' | 'random' | 'keys' | 'store' | 'db'>;

/**
 * Signs an access token for a session with the user's current roles and caps: `access` when the
 * caller read it with the user row just now (roles/queries.ts findUserWithAccess*), else read here.
 */
export async function issueAccessToken(deps: SessionDeps, user: UserRow, session: Pick<SessionRecord, 'id' | 'amr'>, db: DbOrTx = deps.db, known?: Access) {
  const access = known ?? (await getUserAccess(db, user.id));
  return signAccessToken(deps, {
    sub: user.id,
    sid: session.id,
    amr: session.amr,
    email: user.email,
    emailVerified: user.emailVerified,
    roles: access.roles,
    caps: access.caps,
  });
}

/**
 * Opens a session in the store and returns its first tokens and its id. The session id is random
 * and unrelated to any previous session (ASVS 5.0 V7.2.4: a new session on every authentication).
 */
export async function openSession(
  deps: SessionDeps,
  user: UserRow,
  input: {
    meta: RequestMeta;
    amr: string[];
    mfaVerified?: boolean;
    /** The user's access when the caller read it with the row (see issueAccessToken). */
    access?: Access;
    /** Another store write sent in the same tick as the session's, so in the same round trip (auto-pipelining). */
    alongside?: () => Promise<void>;
  },
): Promise<{ auth: AuthResult; sessionId: string }> {
  const now = deps.clock.now();
  const session: SessionRecord = {
    id: deps.random.uuid(),
    userId: user.id,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + deps.config.refreshTokenTtlMs,
    ip: input.meta.ip,
    userAgent: input.meta.userAgent?.slice(0, 512) ?? null,
    amr: input.amr,
    mfaVerified: input.mfaVerified ?? false,
  };
  const refresh = mintRefreshToken(deps, session.id);
  const access = await issueAccessToken(deps, user, session, deps.db, input.access);
  const created = deps.store.sessions.create(session, { hash: refresh.hash, expiresAt: session.expiresAt });
  const along = input.alongside?.();
  try {
    await Promise.all([created, along]);
  } catch (error) {
    // Both settle before the session goes again: its tokens never reached the client.
    await Promise.allSettled([created, along]);
    await deps.store.sessions.delete(session.id).catch(() => undefined);
    throw error;
  }
  return { auth: buildAuthPayload({ access, refresh: { token: refresh.token, expiresAt: session.expiresAt }, user }), sessionId: session.id };
}

export async function listSessions(deps: Pick<Deps, 'store' | 'clock'>, userId: string): Promise<SessionRecord[]> {
  const sessions = (await deps.store.sessions.listByUser(userId, deps.clock.now())).filter((s) => !s.pending);
  return sessions.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
}

/** Revokes one of the caller's own sessions; another user's session id answers NOT_FOUND, as an unknown one does. */
export async function revokeOwnSession(deps: Pick<Deps, 'store' | 'clock' | 'random' | 'db'>, userId: string, sessionId: string, meta: RequestMeta) {
  const session = await deps.store.sessions.get(sessionId, deps.clock.now());
  if (!session || session.userId !== userId) throw new NotFoundError('Session');
  const deleted = await deps.store.sessions.delete(sessionId);
  if (!deleted) throw new NotFoundError('Session');
  await recordAudit(deps, deps.db, { action: 'session.revoked', userId, meta, metadata: { sessionId } });
  return true;
}

/**
 * Ends the caller's session, or all of their sessions. Every instance refuses their tokens from
 * the next request. A pending MFA login only ends itself: the first factor alone must not be
 * enough to sign the account out everywhere.
 */
export async function logout(
  deps: Pick<Deps, 'store' | 'db' | 'clock' | 'random'>,
  auth: { userId: string; sessionId: string; pending: boolean },
  allSessions: boolean,
  meta: RequestMeta,
) {
  if (auth.pending) {
    await endPendingLogin(deps, auth.sessionId);
    await recordAudit(deps, deps.db, { action: 'user.logout', userId: auth.userId, meta, metadata: { pendingMfa: true } });
    return true;
  }
  const ended = allSessions ? await deps.store.sessions.deleteByUser(auth.userId) : (await deps.store.sessions.delete(auth.sessionId)) ? [auth.sessionId] : [];
  await recordAudit(deps, deps.db, { action: 'user.logout', userId: auth.userId, meta, metadata: { allSessions, sessions: ended.length } });
  return true;
}
