import type { DbOrTx } from '../../db/client.js';
import type { Deps } from '../../deps.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { RateLimitedError } from '../abuse/errors.js';
import { enforceLimit } from '../abuse/service.js';
import { renderNotice, type NoticeKind, type NoticeParams } from './notices.js';
import { renderMail, renderSms, type MailKind, type SmsKind } from './templates.js';

type SendDeps = Pick<Deps, 'config' | 'messages'>;
type Recipient = { id: string; email: string; language: string | null };

/** The front-end routes links point to (README "Email and phone flows"). */
const LINK_PATHS = {
  verify_email: '/verify-email',
  reset_password: '/reset-password',
  set_password: '/reset-password',
  magic_link: '/magic-link',
} as const satisfies Partial<Record<MailKind, string>>;

export type LinkKind = keyof typeof LINK_PATHS;

/** The link a mail carries: APP_URL + route + `?token=`. */
function linkFor(deps: Pick<Deps, 'config'>, kind: LinkKind, token: string): string {
  return `${deps.config.appUrl}${LINK_PATHS[kind]}?token=${encodeURIComponent(token)}`;
}

/** Queues a mail with a one-time link, in the user's language. Call after the token's transaction commits. */
export function sendLinkMail(deps: SendDeps, user: Recipient, kind: LinkKind, token: string, ttlMs: number): void {
  const mail = renderMail(kind, {
    appName: deps.config.appName,
    language: user.language,
    link: linkFor(deps, kind, token),
    expiresInMinutes: Math.round(ttlMs / 60_000),
  });
  deps.messages.mail({ to: user.email, ...mail }, { purpose: kind, userId: user.id });
}

/**
 * Queues a mail with a one-time link inside `tx`, the transaction that issues its token: the
 * queued mail commits with the token (wake the worker after the commit: deps.messages.wake()).
 */
export async function queueLinkMail(deps: SendDeps, tx: DbOrTx, user: Recipient, kind: LinkKind, token: string, ttlMs: number): Promise<void> {
  const mail = renderMail(kind, {
    appName: deps.config.appName,
    language: user.language,
    link: linkFor(deps, kind, token),
    expiresInMinutes: Math.round(ttlMs / 60_000),
  });
  await deps.messages.mailIn(tx, { to: user.email, ...mail }, { purpose: kind, userId: user.id });
}

/** Queues a mail with a code (MFA: a sign-in code, or the code that enrolls the address). */
export function sendCodeMail(deps: SendDeps, user: Recipient, code: string, ttlMs: number, kind: 'mfa_code' | 'mfa_setup_code' = 'mfa_code'): void {
  const mail = renderMail(kind, { appName: deps.config.appName, language: user.language, code, expiresInMinutes: Math.round(ttlMs / 60_000) });
  deps.messages.mail({ to: user.email, ...mail }, { purpose: kind, userId: user.id });
}

/** Queues an SMS with a code to an E.164 number. */
export function sendCodeSms(deps: SendDeps, to: string, user: Pick<Recipient, 'id' | 'language'>, kind: SmsKind, code: string, ttlMs: number): void {
  const body = renderSms(kind, { appName: deps.config.appName, language: user.language, code, expiresInMinutes: Math.round(ttlMs / 60_000) });
  deps.messages.sms({ to, body }, { purpose: kind, userId: user.id });
}

/**
 * Queues a security notice (notices.ts) to `to` (the user's address unless given). Call after the
 * change's transaction commits. It counts against no send limit: the limits bound what a
 * requester can make the gateway send, and a notice must reach the user even when an attacker
 * has spent the recipient's budget (ASVS 5.0 V6.3.7).
 */
export function sendNotice(
  deps: SendDeps & Pick<Deps, 'clock'>,
  user: Recipient,
  kind: NoticeKind,
  input: { meta?: RequestMeta | null; byAdmin?: boolean; params?: NoticeParams; to?: string },
): void {
  const context = { at: deps.clock.now(), ip: input.meta?.ip ?? null, userAgent: input.meta?.userAgent ?? null, byAdmin: input.byAdmin };
  const mail = renderNotice(kind, { appName: deps.config.appName, language: user.language, params: input.params, context });
  deps.messages.mail({ to: input.to ?? user.email, ...mail }, { purpose: `notice_${kind}`, userId: user.id });
}

/** An admin changed the account's address: both the old one and the new one hear of it (the old owner can object). */
export function notifyEmailChanged(deps: SendDeps & Pick<Deps, 'clock'>, user: Recipient, previousEmail: string): void {
  sendNotice(deps, user, 'email_changed_old', { byAdmin: true, to: previousEmail });
  sendNotice(deps, user, 'email_changed_new', { byAdmin: true });
}

/**
 * Before a mail or SMS is sent (README "Rate limits and lockout": 1 per 60 s and 5 per hour per recipient, and a
 * per-IP budget). `recipient` is the normalised address or number, whether or not an account
 * has it: the answer never depends on that.
 */
export async function enforceSendLimits(deps: LimitDeps, recipient: string, meta: RequestMeta): Promise<void> {
  await enforceSendIpLimit(deps, meta);
  await enforceRecipientLimits(deps, recipient, meta);
}

export async function enforceSendIpLimit(deps: LimitDeps, meta: RequestMeta): Promise<void> {
  await enforceLimit(deps, 'send.ip', meta.ip ?? 'unknown', meta);
}

/** The minute's limit first: a refused request does not use up the hour's budget. */
export async function enforceRecipientLimits(deps: LimitDeps, recipient: string, meta: RequestMeta): Promise<void> {
  await enforceLimit(deps, 'send.recipient', recipient, meta);
  await enforceLimit(deps, 'sendHourly.recipient', recipient, meta);
}

/**
 * For mails the gateway sends on its own (registration, the resend of a refused login): counts
 * against the recipient's limits like any other, but answers false past them instead of failing.
 */
export async function withinRecipientLimits(deps: LimitDeps, recipient: string, meta: RequestMeta): Promise<boolean> {
  try {
    await enforceRecipientLimits(deps, recipient, meta);
    return true;
  } catch (error) {
    if (error instanceof RateLimitedError) return false;
    throw error;
  }
}

type LimitDeps = Parameters<typeof enforceLimit>[0];
