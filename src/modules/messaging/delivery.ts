import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../shared/logger.js';
import type { Mail, Mailer } from '../../shared/mailer.js';
import type { Sms, SmsSender } from '../../shared/sms.js';

/** What the log may say about a message: never its recipient or content. */
export type MessageInfo = { purpose: string; userId?: string | null };

export type Messages = {
  /** Queues a mail; returns at once, never throws. Call only after the transaction that made the secret commits. */
  mail(mail: Mail, info: MessageInfo): void;
  sms(sms: Sms, info: MessageInfo): void;
  /**
   * Runs work that ends in a message (issuing a token, then mailing it) after the response, so
   * the answer's timing cannot tell whether there was anything to send. Failures are logged.
   */
  defer(info: MessageInfo, task: () => Promise<void>): void;
  /** Resolves when every message queued so far, and every deferred task, has been delivered or given up (tests await it). */
  idle(): Promise<void>;
  /** Waits for idle (at most `graceMs`, default 10 s), then closes the mailer. */
  close(graceMs?: number): Promise<void>;
  readonly mailer: Mailer;
  readonly smsSender: SmsSender;
};

type Channel = 'mail' | 'sms';

/** @default [1000, 5000, 30000]: four attempts over about 36 s, enough to ride out an SMTP restart. */
const DEFAULT_RETRY_DELAYS_MS = [1000, 5000, 30_000];

/**
 * Background delivery with retries. A request never waits for (or fails because of) the mail
 * server: the secret is already committed, and the user can ask again. Logs carry the purpose,
 * the user id, the attempt and a scrubbed error, never the recipient, subject or body
 * (one-time secrets and personal data; ASVS 5.0 V16.2.5).
 */
export function createMessages(opts: { mailer: Mailer; sms: SmsSender; logger: Logger; retryDelaysMs?: number[] }): Messages {
  const delays = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const { logger } = opts;
  const pending = new Set<Promise<void>>();
  // Aborted when close() runs out of grace: pending retry waits end and nothing more is sent.
  const stop = new AbortController();
  let closed = false;

  async function deliver(channel: Channel, send: () => Promise<void>, secrets: string[], info: MessageInfo): Promise<void> {
    const fields = { channel, purpose: info.purpose, userId: info.userId ?? null };
    for (let attempt = 1; ; attempt++) {
      try {
        await send();
        logger.debug({ ...fields, attempt }, `${channel} delivered`);
        return;
      } catch (error) {
        const err = scrubError(error, secrets);
        const delay = delays[attempt - 1];
        if (delay === undefined) {
          logger.error({ ...fields, err, attempt }, `${channel} delivery failed; giving up`);
          return;
        }
        if (stop.signal.aborted) {
          logger.warn({ ...fields, err, attempt }, `${channel} delivery failed; not retried: messaging is closed`);
          return;
        }
        logger.warn({ ...fields, err, attempt }, `${channel} delivery failed; retrying in ${delay} ms`);
        const waited = await sleep(delay, true, { signal: stop.signal }).catch(() => false);
        if (!waited) return;
      }
    }
  }

  function enqueue(channel: Channel, send: () => Promise<void>, secrets: string[], info: MessageInfo): void {
    if (closed) {
      logger.warn({ channel, purpose: info.purpose, userId: info.userId ?? null }, `${channel} dropped: messaging is closed`);
      return;
    }
    // deliver() catches every send failure; the catch here only guards against a logger that throws.
    const task: Promise<void> = deliver(channel, send, secrets, info)
      .catch(() => undefined)
      .finally(() => pending.delete(task));
    pending.add(task);
  }

  const deferred = new Set<Promise<void>>();
  let closing = false;

  function defer(info: MessageInfo, task: () => Promise<void>): void {
    const fields = { purpose: info.purpose, userId: info.userId ?? null };
    if (closing) {
      logger.warn(fields, 'deferred work dropped: messaging is closed');
      return;
    }
    // The logger's error serializer strips what a database error may quote (bound parameters, rows).
    const task$: Promise<void> = Promise.resolve()
      .then(task)
      .catch((err) => logger.error({ ...fields, err }, 'work before a message failed; nothing was sent'))
      .finally(() => deferred.delete(task$));
    deferred.add(task$);
  }

  // A deferred task queues its message before it ends: wait until both sets stay empty.
  const idle = async () => {
    while (deferred.size || pending.size) await Promise.all([...deferred, ...pending]);
  };

  return {
    mailer: opts.mailer,
    smsSender: opts.sms,
    mail(mail, info) {
      enqueue('mail', () => opts.mailer.send(mail), [mail.to, mail.subject, ...lines(mail.text)], info);
    },
    sms(sms, info) {
      enqueue('sms', () => opts.sms.send(sms), [sms.to, sms.body], info);
    },
    defer,
    idle,
    async close(graceMs = 10_000) {
      if (closing) return;
      // New deferred work is refused at once; messages from work still running are sent.
      closing = true;
      const grace = new AbortController();
      const drained = await Promise.race([
        idle().then(() => true),
        sleep(graceMs, false, { signal: grace.signal }).catch(() => false),
      ]);
      grace.abort();
      closed = true;
      if (!drained) {
        logger.warn({ dropped: pending.size }, 'messaging closed before every message was delivered');
        stop.abort();
      }
      await opts.mailer.close();
    },
  };
}

/** Lines of a text part worth scrubbing from error text: the link line, the code line. */
function lines(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line.length >= 6);
}

const EMAIL = /[\w.!#$%&'*+=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+/g;
const E164 = /\+\d{7,15}\b/g;

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 6) out = out.split(secret).join('[redacted]');
  return out.replace(EMAIL, '[address]').replace(E164, '[number]');
}

/**
 * A log-safe copy of a delivery error. nodemailer errors carry the server's reply (which may
 * quote the recipient) and `rejected` address lists, so only a few fields are kept, with any
 * address, number or piece of the message scrubbed from their text.
 */
function scrubError(error: unknown, secrets: string[], depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: scrub(String(error), secrets) };
  const source = error as Error & Record<string, unknown>;
  const out: Record<string, unknown> = { type: error.name, message: scrub(error.message, secrets) };
  // `code` goes out as `errorCode`: the logger redacts `*.code` (verification codes).
  for (const [from, to] of [['code', 'errorCode'], ['responseCode', 'responseCode'], ['command', 'command'], ['status', 'status']] as const) {
    const value = source[from];
    if (typeof value === 'number') out[to] = value;
    else if (typeof value === 'string') out[to] = scrub(value, secrets);
  }
  if (error.stack) out.stack = scrub(error.stack, secrets);
  if (error.cause !== undefined && depth < 3) out.cause = scrubError(error.cause, secrets, depth + 1);
  return out;
}
