import type { Deps } from '../../deps.js';
import { encrypt, decrypt } from '../../shared/crypto.js';
import { BadInputError, NotFoundError, UnauthenticatedError } from '../../shared/errors.js';
import type { FactorMethod, MfaMethod } from '../../shared/mfa-methods.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { clearMfaFailures, enforceLimit, passMfaGate } from '../abuse/service.js';
import { recordAudit } from '../audit/service.js';
import { enforceSendLimits, sendCodeMail, sendCodeSms, sendNotice } from '../messaging/send.js';
import { verifyCurrentPassword, type ReauthOperation } from '../password/service.js';
import { assertCanActOn } from '../roles/guards.js';
import { findUserById, lockUserMfa, updateUser } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { checkCode, CODE_TTL_MS, issueCode } from '../verification/codes.js';
import { InvalidCodeError } from '../verification/errors.js';
import { normalizePhone } from '../verification/phone.js';
import { markEmailVerified } from '../verification/service.js';
import { endOtherSessions } from '../sessions/recent-sign-in.js';
import { deleteUserPasskeys } from '../passkeys/queries.js';
import { checkFactorCode, noteMfaFailure, reauthCodeKey } from './challenge.js';
import { claimTotpStep, deleteAllFactors, deleteFactor, enableFactor, findFactor, replaceRecoveryCodes, savePendingTotp, syncUserMfa } from './queries.js';
import { generateRecoveryCodes, hashRecoveryCode, normalizeRecoveryCode, RECOVERY_CODE_COUNT } from './recovery.js';
import { matchTotp, newTotpSecret, qrCodeDataUrl, totpUri } from './totp.js';

export type Enrollment = { method: FactorMethod; secret: string | null; otpauthUrl: string | null; qrCode: string | null };

const enrollKey = (userId: string, method: FactorMethod) => `mfa-enroll:${userId}:${method}`;

/** MFA_METHODS decides which factors can be enrolled; RECOVERY_CODE comes with the first factor. */
function offeredMethod(deps: Pick<Deps, 'config'>, method: MfaMethod): FactorMethod {
  if (method === 'RECOVERY_CODE') throw new BadInputError('Recovery codes come with the first factor; use regenerateRecoveryCodes for new ones', 'method');
  if (method === 'PASSKEY') throw new BadInputError('Passkeys are added with startPasskeyRegistration', 'method');
  if (!deps.config.mfaMethods.includes(method)) throw new BadInputError(`${method} is not offered here`, 'method');
  return method;
}

async function currentUser(deps: Pick<Deps, 'db'>, userId: string): Promise<UserRow> {
  const user = await findUserById(deps.db, userId);
  if (!user) throw new UnauthenticatedError();
  return user;
}

/**
 * First half of enrolling a factor. TOTP: a new secret (encrypted at rest) with its otpauth://
 * URI and QR code; nothing counts until a code from the app confirms it. SMS: a code to the
 * given number, or to the verified phone. EMAIL: a code to the account's address.
 */
export async function startMfaEnrollment(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'mfaKeys' | 'random' | 'store'>,
  userId: string,
  input: { method: MfaMethod; phone?: string | null },
  meta: RequestMeta,
): Promise<Enrollment> {
  const method = offeredMethod(deps, input.method);
  const user = await currentUser(deps, userId);
  if (user.mfaMethods.includes(method)) throw new BadInputError(`${method} is enabled already`, 'method');
  if (method === 'TOTP') {
    const secret = newTotpSecret();
    await savePendingTotp(deps.db, user.id, encrypt(deps.mfaKeys.totp, secret), new Date(deps.clock.now()));
    const otpauthUrl = totpUri(secret, { issuer: deps.config.appName, account: user.email });
    return { method, secret, otpauthUrl, qrCode: await qrCodeDataUrl(otpauthUrl) };
  }
  if (method === 'SMS') {
    const phone = input.phone ? normalizePhone(input.phone) : user.phoneVerified ? user.phone : null;
    if (!phone) throw new BadInputError('Give a phone number: the account has no verified phone', 'phone');
    await enforceSendLimits(deps, phone, meta);
    const code = await issueCode(deps, enrollKey(user.id, method), { phone });
    sendCodeSms(deps, phone, user, 'phone_verification', code, CODE_TTL_MS);
  } else {
    await enforceSendLimits(deps, user.email, meta);
    const code = await issueCode(deps, enrollKey(user.id, method), { email: user.email });
    sendCodeMail(deps, user, code, CODE_TTL_MS, 'mfa_setup_code');
  }
  return { method, secret: null, otpauthUrl: null, qrCode: null };
}

/**
 * Second half: the code proves the factor works. The first factor of an account turns MFA on and
 * returns 10 recovery codes, once; an SMS enrollment also verifies the phone, an EMAIL one the address.
 */
export async function confirmMfaEnrollment(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'mfaKeys' | 'random' | 'store'>,
  userId: string,
  input: { method: MfaMethod; code: string } & OtherSessions,
  meta: RequestMeta,
): Promise<{ user: UserRow; recoveryCodes: string[] | null }> {
  await enforceLimit(deps, 'verify.ip', meta.ip ?? 'unknown', meta);
  const method = offeredMethod(deps, input.method);
  const user = await currentUser(deps, userId);
  if (user.mfaMethods.includes(method)) throw new BadInputError(`${method} is enabled already`, 'method');
  await enforceLimit(deps, 'mfa.account', user.id, meta);
  let totp: { factorId: string; step: number } | null = null;
  let phone: string | null = null;
  if (method === 'TOTP') {
    const factor = await findFactor(deps.db, user.id, 'TOTP');
    if (!factor?.secretEnc) throw new BadInputError('Start the TOTP enrollment first', 'method');
    const step = matchTotp(decrypt(deps.mfaKeys.totp, factor.secretEnc), input.code, deps.clock.now());
    if (step === null) throw new InvalidCodeError();
    totp = { factorId: factor.id, step };
  } else {
    const check = await checkCode<{ phone?: string; email?: string }>(deps, enrollKey(user.id, method), input.code);
    if (!check.ok || (method === 'EMAIL' && check.payload.email !== user.email)) throw new InvalidCodeError();
    phone = check.payload.phone ?? null;
  }
  const now = new Date(deps.clock.now());
  const result = await deps.db.transaction(async (tx) => {
    const locked = await lockUserMfa(tx, user.id);
    if (!locked) throw new UnauthenticatedError();
    if (locked.mfaMethods.includes(method)) throw new BadInputError(`${method} is enabled already`, 'method');
    // A passkey brings no recovery codes (finishPasskeyRegistration returns the passkey): the first code factor does.
    const first = locked.mfaMethods.every((m) => m === 'PASSKEY');
    const recoveryCodes = first ? generateRecoveryCodes(deps.random) : null;
    // The confirming code's time step is used: it cannot sign in a second time.
    if (totp && !(await claimTotpStep(tx, totp.factorId, totp.step))) throw new InvalidCodeError();
    await enableFactor(tx, { userId: user.id, method, phone, now });
    if (method === 'SMS' && phone && (user.phone !== phone || !user.phoneVerified)) {
      await updateUser(tx, user.id, { phone, phoneVerified: true, updatedAt: now });
      await recordAudit(deps, tx, { action: 'phone.verified', userId: user.id, meta, metadata: { via: 'mfa_enrollment' } });
    }
    if (method === 'EMAIL') await markEmailVerified(deps, tx, user, meta, 'mfa_enrollment');
    if (recoveryCodes) await replaceRecoveryCodes(tx, user.id, hashCodes(deps, recoveryCodes), now);
    const row = await syncUserMfa(tx, user.id, locked.defaultMfaMethod);
    await recordAudit(deps, tx, { action: 'mfa.enabled', userId: user.id, meta, metadata: { method, first } });
    return { user: row, recoveryCodes };
  });
  sendNotice(deps, result.user, 'mfa_enabled', { meta, params: { method } });
  await maybeEndOtherSessions(deps, user.id, input, meta, 'mfa.enabled');
  return result;
}

/** endOtherSessions (default false) of confirmMfaEnrollment and removeMfaMethod; keepSessionId is the caller's. */
type OtherSessions = { endOtherSessions?: boolean | null; keepSessionId?: string };

async function maybeEndOtherSessions(
  deps: Pick<Deps, 'clock' | 'db' | 'random' | 'store'>,
  userId: string,
  input: OtherSessions,
  meta: RequestMeta,
  reason: string,
): Promise<void> {
  if (input.endOtherSessions && input.keepSessionId) await endOtherSessions(deps, userId, input.keepSessionId, meta, reason);
}

function hashCodes(deps: Pick<Deps, 'mfaKeys'>, codes: string[]): string[] {
  return codes.map((code) => hashRecoveryCode(deps.mfaKeys.recovery, normalizeRecoveryCode(code)!));
}

/**
 * Re-authentication for changes to the factors (OWASP MFA cheat sheet; ASVS 5.0 V6.2.x): the
 * password, then a current code of any enabled factor: TOTP, a code sent by sendMfaCode with
 * the full token, or a recovery code.
 */
async function reauthenticate(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'dummyPasswordHash' | 'hasher' | 'messages' | 'mfaKeys' | 'random' | 'store'>,
  userId: string,
  input: { password: string; code: string; operation: ReauthOperation },
  meta: RequestMeta,
): Promise<UserRow> {
  await enforceLimit(deps, 'verify.ip', meta.ip ?? 'unknown', meta);
  await enforceLimit(deps, 'mfa.account', userId, meta);
  const user = await verifyCurrentPassword(deps, userId, input.password, { operation: input.operation, meta });
  if (!user.mfaMethods.length) throw new BadInputError('MFA is not enabled for this account');
  const attempt = await passMfaGate(deps, user.id);
  let method: MfaMethod | null = null;
  if (normalizeRecoveryCode(input.code)) {
    if (await checkFactorCode(deps, user, 'RECOVERY_CODE', input.code, meta)) method = 'RECOVERY_CODE';
  } else {
    if (user.mfaMethods.includes('TOTP') && (await checkFactorCode(deps, user, 'TOTP', input.code, meta))) method = 'TOTP';
    if (!method && user.mfaMethods.some((m) => m === 'SMS' || m === 'EMAIL')) {
      const check = await checkCode<{ method: FactorMethod }>(deps, reauthCodeKey(user.id), input.code);
      if (check.ok && user.mfaMethods.includes(check.payload.method)) method = check.payload.method;
    }
  }
  if (!method) {
    await noteMfaFailure(deps, user, attempt, meta);
    await recordAudit(deps, deps.db, { action: 'mfa.challenge_failed', outcome: 'FAILURE', userId: user.id, meta, metadata: { purpose: 'reauthentication' } });
    throw new InvalidCodeError();
  }
  await clearMfaFailures(deps, user.id);
  await recordAudit(deps, deps.db, { action: 'mfa.challenge_succeeded', userId: user.id, meta, metadata: { method, purpose: 'reauthentication' } });
  return user;
}

/** Removes a factor; removing the last one turns MFA off and deletes the recovery codes. */
export async function removeMfaMethod(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'dummyPasswordHash' | 'hasher' | 'messages' | 'mfaKeys' | 'random' | 'store'>,
  userId: string,
  input: { method: MfaMethod; password: string; code: string } & OtherSessions,
  meta: RequestMeta,
): Promise<UserRow> {
  if (input.method === 'RECOVERY_CODE') throw new BadInputError('Recovery codes go when the last factor goes', 'method');
  if (input.method === 'PASSKEY') throw new BadInputError('Passkeys are removed one by one with deletePasskey', 'method');
  const method = input.method;
  const user = await reauthenticate(deps, userId, { ...input, operation: 'removeMfaMethod' }, meta);
  if (!user.mfaMethods.includes(method)) throw new BadInputError(`${method} is not enabled`, 'method');
  const updated = await deps.db.transaction(async (tx) => {
    const locked = await lockUserMfa(tx, user.id);
    if (!(await deleteFactor(tx, user.id, method))) throw new BadInputError(`${method} is not enabled`, 'method');
    const row = await syncUserMfa(tx, user.id, locked?.defaultMfaMethod ?? null);
    await recordAudit(deps, tx, { action: 'mfa.disabled', userId: user.id, meta, metadata: { method, mfaOff: row.mfaMethods.length === 0 } });
    return row;
  });
  sendNotice(deps, updated, 'mfa_disabled', { meta, params: { method } });
  await maybeEndOtherSessions(deps, user.id, input, meta, 'mfa.disabled');
  return updated;
}

export async function setDefaultMfaMethod(deps: Pick<Deps, 'clock' | 'db' | 'random'>, userId: string, method: MfaMethod, meta: RequestMeta): Promise<UserRow> {
  const user = await currentUser(deps, userId);
  if (method === 'RECOVERY_CODE' || !user.mfaMethods.includes(method)) throw new BadInputError(`${method} is not an enabled factor`, 'method');
  return deps.db.transaction(async (tx) => {
    const locked = await lockUserMfa(tx, user.id);
    if (!locked?.mfaMethods.includes(method)) throw new BadInputError(`${method} is not an enabled factor`, 'method');
    const row = await syncUserMfa(tx, user.id, method);
    await recordAudit(deps, tx, { action: 'user.updated', userId: user.id, meta, metadata: { fields: ['defaultMfaMethod'], defaultMfaMethod: method } });
    return row;
  });
}

/** New recovery codes; the old ones stop working in the same transaction. */
export async function regenerateRecoveryCodes(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'dummyPasswordHash' | 'hasher' | 'messages' | 'mfaKeys' | 'random' | 'store'>,
  userId: string,
  input: { password: string; code: string },
  meta: RequestMeta,
): Promise<string[]> {
  const user = await reauthenticate(deps, userId, { ...input, operation: 'regenerateRecoveryCodes' }, meta);
  const codes = generateRecoveryCodes(deps.random);
  await deps.db.transaction(async (tx) => {
    const locked = await lockUserMfa(tx, user.id);
    if (!locked?.mfaMethods.length) throw new BadInputError('MFA is not enabled for this account');
    await replaceRecoveryCodes(tx, user.id, hashCodes(deps, codes), new Date(deps.clock.now()));
    await recordAudit(deps, tx, { action: 'mfa.recovery_codes_regenerated', userId: user.id, meta, metadata: { count: RECOVERY_CODE_COUNT } });
  });
  sendNotice(deps, user, 'recovery_codes_regenerated', { meta });
  return codes;
}

/**
 * An admin turns a user's MFA off (every factor lost, recovery codes too): the user signs in
 * with the password alone and enrolls again. Not for the caller's own account, where
 * removeMfaMethod asks for the password and a code.
 */
export async function resetUserMfa(
  deps: Pick<Deps, 'clock' | 'config' | 'db' | 'messages' | 'random'>,
  actorId: string,
  userId: string,
  meta: RequestMeta,
): Promise<UserRow> {
  const user = /^[0-9a-f-]{36}$/i.test(userId) ? await findUserById(deps.db, userId) : null;
  if (!user) throw new NotFoundError('User');
  if (user.id === actorId) throw new BadInputError('Use removeMfaMethod for your own account', 'id');
  const updated = await deps.db.transaction(async (tx) => {
    const methods = (await lockUserMfa(tx, user.id))?.mfaMethods ?? [];
    await assertCanActOn(tx, actorId, user.id);
    await deleteAllFactors(tx, user.id);
    // The passkeys too: a user who lost every factor has lost the device that held them.
    await deleteUserPasskeys(tx, user.id);
    const row = await syncUserMfa(tx, user.id, null);
    await recordAudit(deps, tx, { action: 'mfa.disabled', actorId, userId: user.id, meta, metadata: { methods, mfaOff: true, by: 'admin' } });
    return row;
  });
  if (user.mfaMethods.length) sendNotice(deps, updated, 'mfa_reset', { byAdmin: true });
  return updated;
}
