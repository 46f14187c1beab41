import type { Deps } from '../../deps.js';
import { decrypt } from '../../shared/crypto.js';
import { AccountDisabledError, BadInputError, UnauthenticatedError } from '../../shared/errors.js';
import type { MfaMethod } from '../../shared/mfa-methods.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { RateLimitedError } from '../abuse/errors.js';
import { clearMfaFailures, enforceLimit, isMfaLocked, passMfaGate } from '../abuse/service.js';
import { recordAudit } from '../audit/service.js';
import { enforceSendLimits, sendCodeMail, sendCodeSms, sendNotice } from '../messaging/send.js';
import type { AuthResult } from '../sessions/auth-payload.js';
import { endPendingLogin, PENDING_TTL_MS, type PendingLogin, pendingCodeKey, pendingTriesKey, type StartedPendingLogin } from '../sessions/pending.js';
import { completeSignIn } from '../sessions/sign-in.js';
import { findUserById } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { checkCode, CODE_MAX_TRIES, CODE_TTL_MS, issueCode } from '../verification/codes.js';
import { InvalidCodeError } from '../verification/errors.js';
import { claimTotpStep, findFactor, unusedRecoveryCodes, useRecoveryCode } from './queries.js';
import { hashRecoveryCode, normalizeRecoveryCode } from './recovery.js';
import { matchTotp } from './totp.js';

/**
 * RFC 8176 values for the second factor: TOTP and recovery codes are one-time passwords. A
 * passkey has no code for verify2fa: finishPasskeyLogin completes the login (passkeys/login.ts).
 */
const AMR: Record<MfaMethod, string> = { TOTP: 'otp', SMS: 'sms', EMAIL: 'email', PASSKEY: 'hwk', RECOVERY_CODE: 'otp' };

/** Codes sent to a signed-in user for re-authentication (removeMfaMethod, regenerateRecoveryCodes). */
export const reauthCodeKey = (userId: string) => `mfa-reauth:${userId}`;

/**
 * completeSignIn's onPendingLogin: for a default of SMS or EMAIL the code goes out at once
 * (within the recipient's limits), so the user need not ask for it.
 */
export async function sendPendingLoginCode(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'random' | 'store'>,
  user: UserRow,
  pending: StartedPendingLogin,
  meta: RequestMeta,
): Promise<void> {
  if (pending.defaultMethod !== 'SMS' && pending.defaultMethod !== 'EMAIL') return;
  try {
    await sendLoginCode(deps, user, pending.id, pending.defaultMethod, meta, 'login');
  } catch (error) {
    // Past the recipient's hourly budget no code goes out now; sendMfaCode answers RATE_LIMITED with the wait.
    if (!(error instanceof RateLimitedError)) throw error;
  }
}

/**
 * Sends an SMS or email code: for a pending login (under its id) or for re-authentication. The
 * code a login sends by itself follows a correct password, so only the recipient's hourly
 * budget applies to it: the minute's limit would hold back the code of a login that follows
 * the enrollment mail or another login by seconds. Asked-for codes (sendMfaCode) count every limit.
 */
async function sendLoginCode(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'random' | 'store'>,
  user: UserRow,
  pendingId: string | null,
  method: 'SMS' | 'EMAIL',
  meta: RequestMeta,
  trigger: 'login' | 'request',
) {
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
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'random' | 'store'>,
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
export async function checkFactorCode(
  deps: Pick<Deps, 'clock' | 'config' | 'db' | 'messages' | 'mfaKeys' | 'random' | 'store'>,
  user: UserRow,
  method: MfaMethod,
  code: string,
  meta: RequestMeta,
  codeKey?: string,
): Promise<boolean> {
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
export async function noteMfaFailure(
  deps: Pick<Deps, 'clock' | 'config' | 'db' | 'messages' | 'random'>,
  user: UserRow,
  attempt: number,
  meta: RequestMeta,
): Promise<void> {
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
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'keys' | 'messages' | 'mfaKeys' | 'random' | 'store'>,
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
  return completeSignIn(deps, user, { meta, methods: amr, firstFactor: pending.method, mfa: input.method });
}
