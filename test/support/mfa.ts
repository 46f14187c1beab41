import { expect } from 'vitest';
import { totpAt } from '../../src/modules/mfa/totp.js';
import type { TestApp } from './app.js';
import { AUTH_FIELDS, expectOk, login, PASSWORD, signUp, type Tokens } from './actions.js';
import { MANY_PER_RECIPIENT, rateLimits, type Messaging } from './messages.js';
import { codeFrom, type CapturedMail } from './sinks.js';

export type MfaMethod = 'TOTP' | 'SMS' | 'EMAIL' | 'RECOVERY_CODE';

/** One TOTP time step (RFC 6238 default period). */
export const STEP_MS = 30_000;

/** How long a pending MFA login lives (README "Multi-factor authentication"). */
export const PENDING_TTL_MS = 5 * 60_000;

/** High per-IP and per-account limits and raised recipient limits, for files that send many codes to one recipient. */
export const MFA_RATE_LIMITS = rateLimits({ 'mfa.account': '100000/1m', ...MANY_PER_RECIPIENT });

export const START = `mutation($m: MfaMethod!, $p: String) { startMfaEnrollment(method: $m, phone: $p) { method secret otpauthUrl qrCode } }`;
export const CONFIRM = `mutation($m: MfaMethod!, $c: String!) { confirmMfaEnrollment(method: $m, code: $c) { recoveryCodes user { id mfaEnabled mfaMethods defaultMfaMethod phone phoneVerified emailVerified } } }`;
export const VERIFY = `mutation($input: Verify2faInput!) { verify2fa(input: $input) { ${AUTH_FIELDS} } }`;
export const SEND = `mutation($m: MfaMethod!) { sendMfaCode(method: $m) }`;
export const REMOVE = `mutation($m: MfaMethod!, $p: String!, $c: String!) { removeMfaMethod(method: $m, password: $p, code: $c) { id mfaEnabled mfaMethods defaultMfaMethod } }`;
export const SET_DEFAULT = `mutation($m: MfaMethod!) { setDefaultMfaMethod(method: $m) { id mfaEnabled mfaMethods defaultMfaMethod } }`;
export const REGENERATE = `mutation($p: String!, $c: String!) { regenerateRecoveryCodes(password: $p, code: $c) }`;
export const MFA_STATE = `{ me { id mfaEnabled mfaMethods defaultMfaMethod phone phoneVerified } }`;

/** The shape of a recovery code as handed out: 16 characters (80 bits), `7K3Q-M9XD-2HTW-P4RB`. */
export const RECOVERY_CODE_SHAPE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

export function startEnrollment(app: TestApp, token: string, method: MfaMethod, phone?: string) {
  return app.gql(START, { m: method, p: phone }, { token });
}

export function confirmEnrollment(app: TestApp, token: string, method: MfaMethod, code: string) {
  return app.gql(CONFIRM, { m: method, c: code }, { token });
}

export function verify2fa(app: TestApp, token: string, method: MfaMethod, code: string, setCookie?: boolean) {
  return app.gql(VERIFY, { input: { method, code, setCookie } }, { token });
}

export function sendMfaCode(app: TestApp, token: string, method: MfaMethod) {
  return app.gql(SEND, { m: method }, { token });
}

export function mfaState(app: TestApp, token: string) {
  return app.gql(MFA_STATE, {}, { token });
}

/** The TOTP code of the current time step (no clock move: a step already used is refused). */
export function totpNow(app: TestApp, secret: string): string {
  return totpAt(secret, app.clock.now());
}

/** Moves the clock one step on and returns that step's code: one no earlier use has spent. */
export function nextTotp(app: TestApp, secret: string): string {
  app.clock.advance(STEP_MS);
  return totpNow(app, secret);
}

/** A 6-digit code matching none of the steps the server accepts now (the current one ±1). */
export function wrongTotp(app: TestApp, secret: string): string {
  const now = app.clock.now();
  const accepted = new Set([-1, 0, 1].map((d) => totpAt(secret, now + d * STEP_MS)));
  for (let n = 123456; ; n = (n + 7919) % 1_000_000) {
    const candidate = String(n).padStart(6, '0');
    if (!accepted.has(candidate)) return candidate;
  }
}

/**
 * Enrolls TOTP for the holder of `token` and returns the secret and the recovery codes (MFA's
 * first factor). The clock then moves one step on, so the next code is not the spent one.
 */
export async function enrollTotp(app: TestApp, token: string): Promise<{ secret: string; recoveryCodes: string[] | null }> {
  const { secret } = expectOk(await startEnrollment(app, token, 'TOTP')).startMfaEnrollment;
  const confirmed = expectOk(await confirmEnrollment(app, token, 'TOTP', totpNow(app, secret))).confirmMfaEnrollment;
  app.clock.advance(STEP_MS);
  return { secret, recoveryCodes: confirmed.recoveryCodes };
}

export type MfaUser = Tokens & { secret: string; recoveryCodes: string[] };

/** A new user with TOTP enabled, signed in with the session of the sign-up (full token). */
export async function signUpWithTotp(app: TestApp): Promise<MfaUser> {
  const user = await signUp(app);
  const { secret, recoveryCodes } = await enrollTotp(app, user.accessToken);
  expect(recoveryCodes).toHaveLength(10);
  return { ...user, secret, recoveryCodes: recoveryCodes! };
}

/** Logs in an MFA user: the payload, checked to be a pending login. */
export async function loginPending(app: TestApp, email: string, password = PASSWORD) {
  const auth = expectOk(await login(app, email, password)).login;
  expect(auth).toMatchObject({ mfaRequired: true, refreshToken: null });
  return auth as { accessToken: string; mfaMethods: MfaMethod[]; defaultMfaMethod: MfaMethod | null; user: { id: string } };
}

/** Logs in and completes the second factor with a fresh TOTP code: the full payload. */
export async function loginWithTotp(app: TestApp, user: { email: string; secret: string }) {
  const pending = await loginPending(app, user.email);
  return expectOk(await verify2fa(app, pending.accessToken, 'TOTP', nextTotp(app, user.secret))).verify2fa;
}

/** Mails carrying an MFA code (enrollment, login or re-authentication). */
export function codeMails(mails: CapturedMail[]): CapturedMail[] {
  return mails.filter((m) => /sign-in code|verification code/.test(m.subject));
}

/** The code of the newest code mail to the address (after every queued message went out). */
export async function latestMailCode(m: Messaging, address: string): Promise<string> {
  const mails = codeMails(await m.mailsTo(address));
  expect(mails.length).toBeGreaterThanOrEqual(1);
  return codeFrom(mails.at(-1)!.text);
}

/** Enrolls EMAIL with the code the enrollment mails; returns the confirmation payload. */
export async function enrollEmail(m: Messaging, user: { accessToken: string; email: string }) {
  const before = codeMails(await m.mailsTo(user.email)).length;
  expectOk(await startEnrollment(m.app, user.accessToken, 'EMAIL'));
  const mails = codeMails(await m.mailsTo(user.email));
  expect(mails).toHaveLength(before + 1);
  return expectOk(await confirmEnrollment(m.app, user.accessToken, 'EMAIL', codeFrom(mails.at(-1)!.text))).confirmMfaEnrollment;
}
