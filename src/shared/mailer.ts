import { createTransport } from 'nodemailer';
import type { Logger } from './logger.js';

/** One rendered mail. `text` and `html` carry one-time secrets: never log them outside development. */
export type Mail = { to: string; subject: string; text: string; html: string };

/** The mail port. `send` rejects on failure; retrying is the caller's business (messaging/delivery.ts). */
export type Mailer = {
  readonly kind: 'smtp' | 'log';
  send(mail: Mail): Promise<void>;
  close(): Promise<void>;
};

/** A dead or silent server must fail a send within this time, not hang it (and the retries behind it). */
const SMTP_TIMEOUT_MS = 10_000;

/**
 * Sends through SMTP_URL (`smtp://` or `smtps://`, credentials and options in the URL) from
 * MAIL_FROM. Pooled: connections are reused across sends and closed by `close()`.
 */
export function createSmtpMailer(opts: { url: string; from: string; logger: Logger }): Mailer {
  const transport = createTransport({
    url: opts.url,
    pool: true,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
    // nodemailer's own logger would print envelopes (recipient addresses); ours never sees them.
    logger: false,
  });
  // An unhandled 'error' event would crash the process; a failed send also rejects its promise.
  transport.on('error', (error: Error) => opts.logger.warn({ err: { type: error.name, message: error.message } }, 'smtp transport error'));
  return {
    kind: 'smtp',
    async send(mail) {
      await transport.sendMail({ from: opts.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    },
    async close() {
      transport.close();
    },
  };
}

/**
 * The embedded default when SMTP_URL is unset: writes the mail to the log instead of sending it.
 * `revealContent` (development and test) logs the text so a developer can open the link; in
 * production only the recipient is logged, because the body holds a one-time secret.
 */
export function createLogMailer(opts: { logger: Logger; revealContent: boolean }): Mailer {
  return {
    kind: 'log',
    async send(mail) {
      if (opts.revealContent) {
        opts.logger.info({ mail: { to: mail.to, subject: mail.subject, text: mail.text } }, 'mail (not sent: no SMTP_URL)');
      } else {
        opts.logger.warn({ to: mail.to }, 'mail not sent: no SMTP_URL (content withheld from the log)');
      }
    },
    async close() {},
  };
}
