import type { Logger } from './logger.js';

/** One SMS. `to` is an E.164 number; `body` holds a one-time code: never log it outside development. */
export type Sms = { to: string; body: string };

/**
 * The SMS port. `send` rejects on failure; retrying is the caller's business. A provider adapter
 * (Twilio and the like) is one more factory returning this shape, with its own `kind`.
 */
export type SmsSender = {
  readonly kind: 'webhook' | 'log';
  send(sms: Sms): Promise<void>;
};

/**
 * POSTs `{"to","body"}` as JSON to SMS_WEBHOOK_URL; any non-2xx answer is a failure.
 * Credentials in the URL (`https://user:pass@host/...`) become a Basic Authorization header,
 * since fetch refuses URLs that carry them.
 * @param opts.timeoutMs per request. @default 10000
 */
export function createWebhookSmsSender(opts: { url: string; timeoutMs?: number }): SmsSender {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const { url, authorization } = splitCredentials(opts.url);
  return {
    kind: 'webhook',
    async send(sms) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization) headers.authorization = authorization;
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ to: sms.to, body: sms.body }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        // The message names neither the URL (it may hold a key) nor what was sent (a code).
        throw new Error('SMS webhook request failed', { cause: error });
      }
      // Release the connection; the answer's body is of no use and may echo what we sent.
      await response.body?.cancel().catch(() => undefined);
      if (!response.ok) throw new Error(`SMS webhook answered ${response.status}`);
    },
  };
}

/** The embedded default when SMS_WEBHOOK_URL is unset; see createLogMailer. */
export function createLogSmsSender(opts: { logger: Logger; revealContent: boolean }): SmsSender {
  return {
    kind: 'log',
    async send(sms) {
      if (opts.revealContent) {
        opts.logger.info({ sms: { to: sms.to, body: sms.body } }, 'sms (not sent: no SMS_WEBHOOK_URL)');
      } else {
        opts.logger.warn({ to: sms.to }, 'sms not sent: no SMS_WEBHOOK_URL (content withheld from the log)');
      }
    },
  };
}

function splitCredentials(raw: string): { url: string; authorization: string | null } {
  const parsed = new URL(raw);
  if (!parsed.username && !parsed.password) return { url: raw, authorization: null };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
