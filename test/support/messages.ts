import { expect } from 'vitest';
import { createShared, createTestApp, type Backend, type TestApp, useFixture } from './app.js';
import { codeFrom, startMailSink, startSmsSink, tokenFrom, type CapturedMail, type MailSink, type SmsSink } from './sinks.js';

export const APP_URL = 'https://app.test';
export const MAIL_FROM = 'Gateway <no-reply@gateway.test>';

/**
 * Per-IP limits out of the way (in-process requests share one client IP, and a topic file sends
 * and verifies more than the defaults allow), recipient limits left at their defaults.
 */
const HIGH_IP_LIMITS = {
  'login.ip': '100000/1m',
  'register.ip': '100000/1m',
  'send.ip': '100000/1m',
  'verify.ip': '100000/1m',
};

/** Raised recipient limits, for tests that send to one address or phone more than once. */
export const MANY_PER_RECIPIENT = { 'send.recipient': '1000/1m', 'sendHourly.recipient': '1000/1m' };

/** A RATE_LIMITS value: high per-IP limits, then the overrides. */
export function rateLimits(overrides: Record<string, string> = {}): string {
  return Object.entries({ ...HIGH_IP_LIMITS, ...overrides })
    .map(([name, limit]) => `${name}=${limit}`)
    .join(',');
}

/** An app whose mail and SMS go to test sinks, and what was delivered to them. */
export type Messaging = {
  app: TestApp;
  mail: MailSink;
  sms: SmsSink;
  /** Every mail delivered to the address, once every queued message is delivered or given up. */
  mailsTo(address: string): Promise<CapturedMail[]>;
  /** Every SMS delivered to the (E.164) number, once every queued message is delivered or given up. */
  smsTo(phone: string): Promise<Array<{ to: string; body: string }>>;
  close(): Promise<void>;
};

/**
 * Starts both sinks and an app sending to them, with APP_URL set for the links and high per-IP
 * limits; `env` overrides (pass RATE_LIMITS: rateLimits({...}) to change limits).
 */
export async function startMessaging(backend: Backend, env: Record<string, string> = {}): Promise<Messaging> {
  const mail = await startMailSink();
  const sms = await startSmsSink();
  const app = await createTestApp(await createShared(backend), {
    env: { SMTP_URL: mail.url, SMS_WEBHOOK_URL: sms.url, MAIL_FROM, APP_URL, RATE_LIMITS: rateLimits(), ...env },
  });
  return {
    app,
    mail,
    sms,
    async mailsTo(address) {
      await app.deps.messages.idle();
      return mail.to(address);
    },
    async smsTo(phone) {
      await app.deps.messages.idle();
      return sms.to(phone);
    },
    async close() {
      await app.close();
      await mail.close();
      await sms.close();
    },
  };
}

/** startMessaging for the tests of a describe block: opened before them, closed after (see useFixture). */
export function useMessaging(backend: Backend, env: Record<string, string> = {}): Messaging {
  return useFixture(
    () => startMessaging(backend, env),
    (m) => m.close(),
  );
}

export type LinkPath = 'verify-email' | 'reset-password' | 'magic-link';

/** The token of a mail's link, checking that the link points at the front end's page for it. */
export function linkToken(mail: CapturedMail, path: LinkPath): string {
  const token = tokenFrom(mail);
  expect(token, mail.text).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  expect(mail.text).toContain(`${APP_URL}/${path}?token=${token}`);
  return token!;
}

/** The mails to an address whose link goes to `path`. */
export function mailsWithLink(mails: CapturedMail[], path: LinkPath): CapturedMail[] {
  return mails.filter((m) => m.text.includes(`${APP_URL}/${path}?token=`));
}

/** Exactly one mail reached the address, with a link to `path`: its token. */
export async function onlyLinkTo(m: Messaging, address: string, path: LinkPath): Promise<string> {
  const mails = await m.mailsTo(address);
  expect(mails, JSON.stringify(mails.map((x) => x.subject))).toHaveLength(1);
  return linkToken(mails[0]!, path);
}

/** The newest mail to the address with a link to `path`: its token. */
export async function latestLinkTo(m: Messaging, address: string, path: LinkPath): Promise<string> {
  const mails = mailsWithLink(await m.mailsTo(address), path);
  expect(mails.length).toBeGreaterThanOrEqual(1);
  return linkToken(mails.at(-1)!, path);
}

/** The code of the newest SMS to the number. */
export async function latestCodeTo(m: Messaging, phone: string): Promise<string> {
  const messages = await m.smsTo(phone);
  expect(messages.length).toBeGreaterThanOrEqual(1);
  const code = codeFrom(messages.at(-1)!.body);
  expect(code).toMatch(/^\d{6}$/);
  return code!;
}

/** Runs `n` copies of a request at once and counts the answers that succeeded and their error codes. */
export async function race<T extends { errors?: Array<{ extensions: Record<string, any> }> | undefined }>(n: number, run: () => Promise<T>) {
  const results = await Promise.all(Array.from({ length: n }, run));
  const ok = results.filter((r) => r.errors === undefined);
  const codes = results.filter((r) => r.errors !== undefined).map((r) => r.errors![0]!.extensions.code as string);
  return { results, ok, codes };
}

let phoneCounter = 3000 + Math.floor(Math.random() * 3000);
/** A valid US number no other test of the app uses, as typed by a user and in E.164. */
export function uniquePhone(): { typed: string; e164: string } {
  const line = String(phoneCounter++ % 10000).padStart(4, '0');
  return { typed: `+1 415 555 ${line}`, e164: `+1415555${line}` };
}
