import type { Deps } from '../../deps.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { startPendingLogin, type MfaMethod } from '../mfa/challenge.js';
import { startSession, type AuthResult } from '../sessions/service.js';
import { parseRefreshToken } from '../tokens/service.js';
import { updateUser } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';

/**
 * The end of every sign-in. After a first factor (password, magic link) an account with MFA
 * gets a pending login instead of a session; after the second (`mfa`), or without MFA, a new
 * session, lastLoginAt and user.login naming the methods (and mfa.challenge_succeeded). Should
 * the database write fail, the session is deleted again.
 */
export async function signInUser(
  deps: Deps,
  user: UserRow,
  input: { meta: RequestMeta; amr: string[]; method: string; passwordHash?: string; mfa?: MfaMethod },
): Promise<AuthResult> {
  const { meta } = input;
  if (!input.mfa && user.mfaMethods.length) {
    if (input.passwordHash) await updateUser(deps.db, user.id, { passwordHash: input.passwordHash });
    return startPendingLogin(deps, user, input);
  }
  const auth = await startSession(deps, user, { meta, amr: input.amr, mfaVerified: !!input.mfa });
  const sessionId = parseRefreshToken(auth.refreshToken ?? '')?.sessionId;
  try {
    const updated = await deps.db.transaction(async (tx) => {
      const row = await updateUser(tx, user.id, {
        lastLoginAt: new Date(deps.clock.now()),
        ...(input.passwordHash ? { passwordHash: input.passwordHash } : {}),
      });
      if (input.mfa) await recordAudit(deps, tx, { action: 'mfa.challenge_succeeded', userId: user.id, meta, metadata: { method: input.mfa, sessionId } });
      await recordAudit(deps, tx, {
        action: 'user.login',
        userId: user.id,
        meta,
        metadata: { method: input.method, ...(input.mfa ? { mfa: input.mfa } : {}), sessionId },
      });
      return row ?? user;
    });
    return { ...auth, user: updated };
  } catch (error) {
    if (sessionId) await deps.store.sessions.delete(sessionId).catch(() => undefined);
    throw error;
  }
}
