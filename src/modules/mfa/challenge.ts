import type { Deps } from '../../deps.js';
import { decrypt, sha256 } from '../../shared/crypto.js';
import { BadInputError, UnauthenticatedError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { RateLimitedError } from '../abuse/errors.js';
import { clearMfaFailures, enforceLimit, isMfaLocked, passMfaGate } from '../abuse/service.js';
import { AccountDisabledError } from '../auth/errors.js';
import { recordAudit } from '../audit/service.js';
import { enforceSendLimits, sendCodeMail, sendCodeSms, sendNotice } from '../messaging/send.js';
import { signInUser } from '../auth/sign-in.js';
import type { AuthResult } from '../sessions/service.js';
import { signAccessToken } from '../tokens/service.js';
import { findUserById } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { checkCode, CODE_MAX_TRIES, CODE_TTL_MS, issueCode } from '../verification/codes.js';
import { InvalidCodeError } from '../verification/errors.js';
import { claimTotpStep, findFactor, unusedRecoveryCodes, useRecoveryCode, type FactorMethod } from './queries.js';
import { hashRecoveryCode, normalizeRecoveryCode } from './recovery.js';
import { matchTotp } from './totp.js';

export type MfaMethod = FactorMethod | 'RECOVERY_CODE';

/** How long a pending login (and its token) lives: 5 minutes (README "Multi-factor authentication"). */
export const PENDING_TTL_MS = 5 * 60_000;

/** RFC 8176 values for the second factor: TOTP and recovery codes are one-time passwords. */
const AMR: Record<MfaMethod, string> = { TOTP: 'otp', SMS: 'sms', EMAIL: 'email', RECOVERY_CODE: 'otp' };

/**
 * A login waiting for its second factor, under its own id (the pending token's `sid`): a pending
 * record among the user's sessions (user, first-factor amr, expiry), so a password reset or
 * change, or an admin's revocation, ends it like any session; and beside it what only a pending
 * login has, the first factor's name and the second factors it accepts.
 */
export type PendingLogin = {
  userId: string;
  amr: string[];
  /** The first factor's name for the audit (password, magic_link). */
  method: string;
  /** The second factors this login accepts. */
  methods: MfaMethod[];
};

type PendingDetails = Pick<PendingLogin, 'method' | 'methods'>;

const pendingKey = (id: string) => `mfa-pending:${id}`;
const pendingTriesKey = (id: string) => `mfa-pending-tries:${id}`;
const pendingCodeKey = (id: string) => `mfa-code:${id}`;
/** Codes sent to a signed-in user for re-authentication (removeMfaMethod, regenerateRecoveryCodes). */
export const reauthCodeKey = (userId: string) => `mfa-reauth:${userId}`;

/** The live pending login of a pending token, or null (expired, finished, voided or logged out). */
export async function findPendingLogin(deps: Pick<Deps, 'store' | 'clock'>, id: string): Promise<PendingLogin | null> {
  const now = deps.clock.now();
  const [session, raw] = await Promise.all([deps.store.sessions.get(id, now), deps.store.codes.get(pendingKey(id))]);
  if (!session?.pending || !raw) return null;
  return { userId: session.userId, amr: session.amr, ...(JSON.parse(raw) as PendingDetails) };
}

/** Ends a pending login; true for exactly one of concurrent callers (the session delete is atomic). */
export async function endPendingLogin(deps: Pick<Deps, 'store'>, id: string): Promise<boolean> {
  const session = await deps.store.sessions.delete(id);
  await deps.store.codes.delete(pendingKey(id));
  return !!session?.pending;
}

/**
 * The first factor was right and the account has MFA: instead of a session, a pending login
 * and its token (5 minutes, its own audience, no refresh token). A mailed first factor (magic
 * link) cannot be completed by a mailed code: both prove the same mailbox.
 * For a default of SMS or EMAIL the code goes out at once (within the recipient's limits).
 */
export async function startPendingLogin(deps: Deps, user: UserRow, input: { meta: RequestMeta; amr: string[]; method: string }): Promise<AuthResult> {
  const factors = user.mfaMethods as FactorMethod[];
  const usable = input.amr.includes('email') ? factors.filter((m) => m !== 'EMAIL') : factors;
  const methods: MfaMethod[] = [...usable, 'RECOVERY_CODE'];
  const preferred = user.defaultMfaMethod as FactorMethod | null;
  const defaultMethod: MfaMethod = preferred && usable.includes(preferred) ? preferred : (usable[0] ?? 'RECOVERY_CODE');
  const id = deps.random.uuid();
  const now = deps.clock.now();
  const expiresAt = now + PENDING_TTL_MS;
  const details: PendingDetails = { method: input.method, methods };
  await deps.store.codes.set(pendingKey(id), JSON.stringify(details), PENDING_TTL_MS);
  await deps.store.sessions.create(
    {
      id,
      userId: user.id,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      ip: input.meta.ip,
      userAgent: input.meta.userAgent,
      amr: input.amr,
      mfaVerified: false,
      pending: true,
    },
    // A refresh token nobody holds: a pending login cannot be refreshed, only finished.
    { hash: sha256(deps.random.token(32)), expiresAt },
  );
  const token = await signAccessToken(
    deps,
    { sub: user.id, sid: id, amr: input.amr, email: user.email, emailVerified: user.emailVerified, roles: [], caps: [] },
    { pending: true, ttlMs: PENDING_TTL_MS },
  );
  if (defaultMethod === 'SMS' || defaultMethod === 'EMAIL') {
    try {
      await sendLoginCode(deps, user, id, defaultMethod, input.meta, 'login');
    } catch (error) {
      // Past the recipient's hourly budget no code goes out now; sendMfaCode answers RATE_LIMITED with the wait.
      if (!(error instanceof RateLimitedError)) throw error;
    }
  }
  return {
    accessToken: token.token,
    accessTokenExpiresAt: new Date(token.expiresAt),
    refreshToken: null,
    refreshTokenExpiresAt: null,
    mfaRequired: true,
    mfaMethods: methods,
    defaultMfaMethod: defaultMethod,
    user,
  };
}

/**
 * Sends an SMS or email code: for a pending login (under its id) or for re-authentication. The
 * code a login sends by itself follows a correct password, so only the recipient's hourly
 * budget applies to it: the minute's limit would hold back the code of a login that follows
 * the enrollment mail or another login by seconds. Asked-for codes (sendMfaCode) count every limit.
 */
async function sendLoginCode(deps: Deps, user: UserRow, pendingId: string | null, method: 'SMS' | 'EMAIL', meta: RequestMeta, trigger: 'login' | 'request') {
  const factor = await findFactor(deps.db, user.id, method);
  if (!factor?.enabledAt) throw new BadInputError(`${method} is not enabled for this account`, 'method');
  const recipient = method === 'SMS' ? factor.phone! : user.email;
  if (trigger === 'request') await enforceSendLimits(deps, recipient, meta);
  else await enforceLimit(deps, 'sendHourly.recipient', recipient, meta);
  const code = await issueCode(deps, pendingId ? pendingCodeKey(pendingId) : reauthCodeKey(user.id), { method });
  if (method === 'SMS') sendCodeSms(deps, recipient, user, 'mfa_code', code, CODE_TTL_MS);
  else sendCodeMail(deps, user, code, CODE_TTL_MS);
}

/** sendMfaCode: with a pending token for its login, with a full one for re-authentication. */
export async function sendMfaCode(
  deps: Deps,
  auth: { userId: string; sessionId: string; pendingLogin: PendingLogin | null },
  method: MfaMethod,
  meta: RequestMeta,
): Promise<boolean> {
  if (method !== 'SMS' && method !== 'EMAIL') throw new BadInputError('Only SMS and EMAIL codes are sent', 'method');
  const user = await findUserById(deps.db, auth.userId);
  if (!user) throw new UnauthenticatedError();
  if (auth.pendingLogin && !auth.pendingLogin.methods.includes(method)) throw new BadInputError(`${method} cannot complete this sign-in`, 'method');
  // A locked second factor accepts no code: sending one would only spend the recipient's budget.
  if (await isMfaLocked(deps, user.id)) throw new RateLimitedError(PENDING_TTL_MS, { locked: true });
  await sendLoginCode(deps, user, auth.pendingLogin ? auth.sessionId : null, method, meta, 'request');
  return true;
}

/**
 * Checks one second-factor code of a user. TOTP: ±1 step, each step once per factor (in the
 * database, so two instances cannot both accept it). SMS/EMAIL: the code under `codeKey`, sent
 * for that method. Recovery codes: once each (mfa.recovery_code_used).
 */
export async function checkFactorCode(deps: Deps, user: UserRow, method: MfaMethod, code: string, meta: RequestMeta, codeKey?: string): Promise<boolean> {
  if (method === 'RECOVERY_CODE') {
    const normalized = normalizeRecoveryCode(code);
    if (!normalized || !user.mfaMethods.length) return false;
    const used = await useRecoveryCode(deps.db, user.id, hashRecoveryCode(deps.mfaKeys.recovery, normalized), new Date(deps.clock.now()));
    if (used) {
      const remaining = await unusedRecoveryCodes(deps.db, user.id);
      await recordAudit(deps, deps.db, { action: 'mfa.recovery_code_used', userId: user.id, meta, metadata: { remaining } });
      sendNotice(deps, user, 'recovery_code_used', { meta, params: { count: remaining } });
    }
    return used;
  }
  if (!user.mfaMethods.includes(method)) return false;
  if (method === 'TOTP') {
    const factor = await findFactor(deps.db, user.id, 'TOTP');
    if (!factor?.enabledAt || !factor.secretEnc) return false;
    const step = matchTotp(decrypt(deps.mfaKeys.totp, factor.secretEnc), code, deps.clock.now());
    return step !== null && (await claimTotpStep(deps.db, factor.id, step));
  }
  if (!codeKey) return false;
  const check = await checkCode<{ method: string }>(deps, codeKey, code);
  return check.ok && check.payload.method === method;
}

/**
 * After a wrong second-factor code that counted as attempt `attempt` of the account's streak
 * (passMfaGate): at MFA_WARN_AFTER a warning mail, at MFA_LOCK_AFTER the lock is audited
 * (rate_limit.exceeded, limit mfa.locked) and mailed. Each fires once per streak: the gate
 * numbers attempts atomically, so of concurrent failures only one holds that number.
 */
export async function noteMfaFailure(deps: Deps, user: UserRow, attempt: number, meta: RequestMeta): Promise<void> {
  const { mfaLockAfter, mfaWarnAfter } = deps.config.abuse;
  if (attempt === mfaLockAfter) {
    await recordAudit(deps, deps.db, {
      action: 'rate_limit.exceeded',
      outcome: 'FAILURE',
      userId: user.id,
      actorId: null,
      meta,
      metadata: { limit: 'mfa.locked', failures: attempt },
    });
    sendNotice(deps, user, 'mfa_locked', { meta, params: { count: attempt } });
  } else if (attempt === mfaWarnAfter && mfaWarnAfter < mfaLockAfter) {
    sendNotice(deps, user, 'mfa_failures_warning', { meta, params: { count: attempt } });
  }
}

/**
 * The second step of a login. Every try is counted before it is checked, so at most
 * CODE_MAX_TRIES codes are ever evaluated for one pending token, however many run at once; the
 * fifth wrong one voids it (sign in again). Also at most 10 tries per account in 15 minutes,
 * however many pending logins a holder of the password opens (limit mfa.account), and at most
 * MFA_LOCK_AFTER consecutive wrong ones before the account's second factor locks (passMfaGate).
 * Success ends the pending login (exactly once) and opens a full session whose amr names both factors.
 */
export async function verify2fa(
  deps: Deps,
  auth: { userId: string; sessionId: string; pendingLogin: PendingLogin | null },
  input: { method: MfaMethod; code: string },
  meta: RequestMeta,
): Promise<AuthResult> {
  // Read by the context for this request; endPendingLogin below is the atomic check that it still stands.
  const pending = auth.pendingLogin;
  if (!pending) throw new UnauthenticatedError('The sign-in expired; start again');
  await enforceLimit(deps, 'mfa.account', auth.userId, meta);
  const { count } = await deps.store.counters.increment(pendingTriesKey(auth.sessionId), PENDING_TTL_MS);
  const user = await findUserById(deps.db, auth.userId);
  if (!user) throw new UnauthenticatedError();
  const allowed = pending.methods.includes(input.method);
  // Only codes that are evaluated count in the account's streak (a refused method or a spent pending login guesses nothing).
  const attempt = count <= CODE_MAX_TRIES && allowed ? await passMfaGate(deps, user.id) : 0;
  const ok = attempt > 0 && (await checkFactorCode(deps, user, input.method, input.code, meta, pendingCodeKey(auth.sessionId)));
  if (!ok) {
    if (attempt) await noteMfaFailure(deps, user, attempt, meta);
    const voided = count >= CODE_MAX_TRIES;
    if (voided) await endPendingLogin(deps, auth.sessionId);
    const reason = !allowed ? 'method_not_allowed' : count > CODE_MAX_TRIES ? 'too_many_tries' : 'wrong_code';
    await recordAudit(deps, deps.db, {
      action: 'mfa.challenge_failed',
      outcome: 'FAILURE',
      userId: user.id,
      meta,
      metadata: { method: input.method, reason, tries: Math.min(count, CODE_MAX_TRIES) },
    });
    throw new InvalidCodeError(voided ? 'Too many wrong codes: sign in again' : !allowed ? `${input.method} cannot complete this sign-in` : undefined);
  }
  await clearMfaFailures(deps, user.id);
  // Exactly one of concurrent right answers ends the pending login and gets a session.
  if (!(await endPendingLogin(deps, auth.sessionId))) throw new UnauthenticatedError('The sign-in expired; start again');
  if (user.disabled) throw new AccountDisabledError();
  const amr = [...new Set([...pending.amr, AMR[input.method], 'mfa'])];
  return signInUser(deps, user, { meta, amr, method: pending.method, mfa: input.method });
}
