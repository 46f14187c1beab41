import type { Deps } from '../../deps.js';
import type { MfaMethod } from '../../shared/mfa-methods.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import type { Access } from '../roles/queries.js';
import { type AuditInput, auditInsert } from '../audit/service.js';
import { updateUser, updateUserWith } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import type { AuthResult } from './auth-payload.js';
import { type StartedPendingLogin, startPendingLogin } from './pending.js';
import { openSession } from './service.js';

/** What a factor proved, handed to completeSignIn. */
export type SignInProof<D = SignInDeps> = {
  meta: RequestMeta;
  /** RFC 8176 amr values the user has proved (['pwd'], ['email'], later ['fed'], ['hwk']; with MFA also 'mfa' and the second factor's). */
  methods: string[];
  /** The first factor's name for the audit (password, magic_link, passkey). */
  firstFactor: string;
  /** The second factor just checked (verify2fa); absent after a first factor. */
  mfa?: MfaMethod;
  /**
   * The first factor is multi-factor by itself (a user-verified passkey: a device and its PIN or
   * biometric, NIST SP 800-63B §5.1.9): a full session even when the account has MFA.
   */
  multiFactor?: boolean;
  /** The user's access, read with the row just now (the password factor: one query for both). */
  access?: Access;
  /**
   * A store write that belongs to the sign-in, sent with the session's (or the pending login's)
   * own: the password factor ends the account's failure streak there.
   */
  alongside?: () => Promise<void>;
  /** A rehashed password to store with the sign-in (the password factor). */
  passwordHash?: string;
  /**
   * Called when the account has MFA and a pending login began: the second factor's module sends
   * the default method's code here (mfa/challenge.ts sendPendingLoginCode).
   */
  onPendingLogin?: (deps: D, user: UserRow, pending: StartedPendingLogin, meta: RequestMeta) => Promise<void>;
};

type SignInDeps = Pick<Deps, 'config' | 'clock' | 'random' | 'keys' | 'store' | 'db'>;

/**
 * The end of every sign-in: "this user proved these methods". After a first factor an account
 * with MFA gets a pending login instead of a session; after the second (`mfa`), or without MFA,
 * a new session, lastLoginAt and user.login naming the methods (and mfa.challenge_succeeded).
 * Should the database write fail, the session is deleted again.
 */
export async function completeSignIn<D extends SignInDeps>(deps: D, user: UserRow, proof: SignInProof<D>): Promise<AuthResult> {
  const { meta } = proof;
  if (!proof.mfa && !proof.multiFactor && user.mfaMethods.length) {
    if (proof.passwordHash) await updateUser(deps.db, user.id, { passwordHash: proof.passwordHash });
    const [started] = await Promise.all([startPendingLogin(deps, user, { meta, amr: proof.methods, method: proof.firstFactor }), proof.alongside?.()]);
    await proof.onPendingLogin?.(deps, user, started.pending, meta);
    return started.auth;
  }
  const { auth, sessionId } = await openSession(deps, user, {
    meta,
    amr: proof.methods,
    mfaVerified: !!proof.mfa || !!proof.multiFactor,
    access: proof.access,
    alongside: proof.alongside,
  });
  try {
    const audits: AuditInput[] = [
      ...(proof.mfa ? [{ action: 'mfa.challenge_succeeded' as const, userId: user.id, meta, metadata: { method: proof.mfa, sessionId } }] : []),
      {
        action: 'user.login',
        userId: user.id,
        meta,
        metadata: { method: proof.firstFactor, ...(proof.mfa ? { mfa: proof.mfa } : {}), sessionId },
      },
    ];
    // One statement: lastLoginAt (and a rehashed password) with the audit rows, atomically.
    const row = await updateUserWith(
      deps.db,
      user.id,
      { lastLoginAt: new Date(deps.clock.now()), ...(proof.passwordHash ? { passwordHash: proof.passwordHash } : {}) },
      auditInsert(deps, audits),
    );
    const updated = row ?? user;
    return { ...auth, user: updated };
  } catch (error) {
    await deps.store.sessions.delete(sessionId).catch(() => undefined);
    throw error;
  }
}
