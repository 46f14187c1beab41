import type { DbOrTx } from '../../db/client.js';
import type { Deps } from '../../deps.js';
import { BadInputError, InvalidTokenError, UnauthenticatedError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { enforceSendLimits, sendCodeSms, withinRecipientLimits } from '../messaging/send.js';
import { findUserById, updateUser } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { checkCode, CODE_TTL_MS, issueCode } from './codes.js';
import { InvalidCodeError } from './errors.js';
import { prepareLink } from './links.js';
import { normalizePhone } from './phone.js';
import { consumeOneTimeToken } from './tokens.js';

/** A verification link (prepareLink) recorded as email.verification_sent in the same transaction. */
export async function prepareEmailVerification(
  deps: Pick<Deps, 'clock' | 'config' | 'messages' | 'random'>,
  tx: DbOrTx,
  user: UserRow,
  meta: RequestMeta,
): Promise<() => void> {
  const send = await prepareLink(deps, tx, user, 'verify_email');
  await recordAudit(deps, tx, { action: 'email.verification_sent', userId: user.id, meta });
  return send;
}

async function sendEmailVerification(deps: Pick<Deps, 'clock' | 'config' | 'db' | 'messages' | 'random'>, user: UserRow, meta: RequestMeta): Promise<void> {
  const send = await deps.db.transaction((tx) => prepareEmailVerification(deps, tx, user, meta));
  send();
}

/** Mails the signed-in user a verification link (BAD_USER_INPUT when the address is verified already). */
export async function requestEmailVerification(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'random' | 'store'>,
  userId: string,
  meta: RequestMeta,
): Promise<boolean> {
  const user = await findUserById(deps.db, userId);
  if (!user) throw new UnauthenticatedError();
  if (user.emailVerified) throw new BadInputError('The email address is verified already');
  await enforceSendLimits(deps, user.email, meta);
  await sendEmailVerification(deps, user, meta);
  return true;
}

/**
 * A login refused with EMAIL_NOT_VERIFIED sends a fresh link, within the recipient's limits and
 * silently past them: the caller has just proven the password, and cannot reach
 * requestEmailVerification without a session.
 */
export async function resendEmailVerification(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'random' | 'store'>,
  user: UserRow,
  meta: RequestMeta,
): Promise<void> {
  // Within the minute of the last link (the registration's, say) that link stays the one that works.
  if (await withinRecipientLimits(deps, user.email, meta)) await sendEmailVerification(deps, user, meta);
}

/**
 * Marks the address verified when `token` is a live verification link of the account's current
 * email (a link sent to an older address stops working when the email changes).
 */
export async function verifyEmail(deps: Pick<Deps, 'clock' | 'db' | 'random'>, token: string, meta: RequestMeta): Promise<boolean> {
  const now = deps.clock.now();
  const verified = await deps.db.transaction(async (tx) => {
    const row = await consumeOneTimeToken(tx, token, 'email_verification', now);
    const user = row ? await findUserById(tx, row.userId) : null;
    if (!row || !user || user.email !== row.email) return false;
    await markEmailVerified(deps, tx, user, meta, 'verification_link');
    return true;
  });
  if (!verified) throw new InvalidTokenError();
  return true;
}

/**
 * Sets emailVerified (and records email.verified) when it is not set yet. Every flow that proves
 * control of the address calls it: the verification link, a password reset, a magic link.
 */
export async function markEmailVerified(deps: Pick<Deps, 'clock' | 'random'>, tx: DbOrTx, user: UserRow, meta: RequestMeta, via: string): Promise<UserRow> {
  if (user.emailVerified) return user;
  const row = await updateUser(tx, user.id, { emailVerified: true, updatedAt: new Date(deps.clock.now()) });
  await recordAudit(deps, tx, { action: 'email.verified', userId: user.id, meta, metadata: { via } });
  return row ?? user;
}

const phoneCodeKey = (userId: string) => `phone-verify:${userId}`;

/** Texts a 6-digit code to `phone` (international format); the number is saved once verifyPhone confirms it. */
export async function requestPhoneVerification(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'messages' | 'random' | 'store'>,
  userId: string,
  phone: string,
  meta: RequestMeta,
): Promise<boolean> {
  const e164 = normalizePhone(phone);
  const user = await findUserById(deps.db, userId);
  if (!user) throw new UnauthenticatedError();
  await enforceSendLimits(deps, e164, meta);
  const code = await issueCode(deps, phoneCodeKey(userId), { phone: e164 });
  sendCodeSms(deps, e164, user, 'phone_verification', code, CODE_TTL_MS);
  return true;
}

/** Confirms the code of requestPhoneVerification: the number becomes the user's verified phone. */
export async function verifyPhone(deps: Pick<Deps, 'clock' | 'db' | 'random' | 'store'>, userId: string, code: string, meta: RequestMeta): Promise<UserRow> {
  const check = await checkCode<{ phone: string }>(deps, phoneCodeKey(userId), code);
  if (!check.ok) throw new InvalidCodeError(check.reason === 'exhausted' ? 'Too many wrong codes: request a new one' : undefined);
  return deps.db.transaction(async (tx) => {
    const user = await updateUser(tx, userId, { phone: check.payload.phone, phoneVerified: true, updatedAt: new Date(deps.clock.now()) });
    if (!user) throw new UnauthenticatedError();
    await recordAudit(deps, tx, { action: 'phone.verified', userId, meta });
    return user;
  });
}
