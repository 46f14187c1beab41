import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A mail as one recipient received it. `language` is read from Content-Language or `<html lang>`. */
export type CapturedMail = { to: string; subject: string; text: string; html: string; language?: string; from?: string };

export type MailSink = {
  url: string;
  mails: CapturedMail[];
  /** Refuse the next n messages with a 451 temporary error. */
  failNext(n: number): void;
  /** Mails to `to` (case-insensitive) so far. */
  to(address: string): CapturedMail[];
  close(): Promise<void>;
};

/** A real SMTP server on a free local port that keeps what it receives (no TLS, no auth). */
export async function startMailSink(): Promise<MailSink> {
  const mails: CapturedMail[] = [];
  let failing = 0;
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // Pooled clients keep connections open; do not wait 30 s for them on close.
    closeTimeout: 200,
    onData(stream, session, callback) {
      if (failing > 0) {
        failing--;
        stream.resume();
        // 4xx: a temporary failure the sender should retry (RFC 5321 §4.2.1).
        stream.on('end', () => callback(Object.assign(new Error('Temporary failure, try again later'), { responseCode: 451 })));
        return;
      }
      simpleParser(stream)
        .then((parsed) => {
          const html = typeof parsed.html === 'string' ? parsed.html : '';
          const header = parsed.headers.get('content-language');
          const language = (typeof header === 'string' ? header : undefined) ?? /<html[^>]*\blang="([^"]+)"/i.exec(html)?.[1];
          const from = parsed.from?.value[0]?.address;
          for (const rcpt of session.envelope.rcptTo) {
            mails.push({ to: rcpt.address, subject: parsed.subject ?? '', text: parsed.text ?? '', html, language, from });
          }
          callback();
        })
        .catch((error: unknown) => {
          // Whatever went wrong here is ours, not the sender's: ask for a retry.
          const message = error instanceof Error ? error.message : String(error);
          callback(Object.assign(new Error(`Sink failed: ${message}`), { responseCode: 451 }));
        });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port));
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    failNext(n) {
      failing = n;
    },
    to(address) {
      return mails.filter((m) => m.to.toLowerCase() === address.toLowerCase());
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type CapturedSms = { to: string; body: string };

export type SmsSink = {
  url: string;
  messages: CapturedSms[];
  /** Answer the next n requests with 500. */
  failNext(n: number): void;
  to(phone: string): CapturedSms[];
  close(): Promise<void>;
};

/** An HTTP server standing in for the SMS webhook: POST JSON `{ to, body }`. */
export async function startSmsSink(): Promise<SmsSink> {
  const messages: CapturedSms[] = [];
  let failing = 0;
  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        if (req.method !== 'POST' || req.url !== '/sms') return res.writeHead(404).end();
        if (failing > 0) {
          failing--;
          return res.writeHead(500).end();
        }
        const parsed = JSON.parse(raw) as Partial<CapturedSms>;
        if (typeof parsed.to !== 'string' || typeof parsed.body !== 'string') return res.writeHead(400).end();
        messages.push({ to: parsed.to, body: parsed.body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      })
      .catch(() => res.writeHead(400).end());
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  return {
    url: `http://127.0.0.1:${port}/sms`,
    messages,
    failNext(n) {
      failing = n;
    },
    to(phone) {
      return messages.filter((m) => m.to === phone);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The `token=` value of the first link in a mail's text part; throws when there is none. */
export function tokenFrom(mail: CapturedMail): string {
  const match = /https?:\/\/\S*?[?&]token=([^\s&#]+)/.exec(mail.text);
  if (!match?.[1]) throw new Error(`no token link in the mail "${mail.subject}"`);
  return decodeURIComponent(match[1]);
}

/** The first 6-digit code in a text. */
export function codeFrom(text: string): string {
  const match = /(?<!\d)(\d{6})(?!\d)/.exec(text);
  if (!match?.[1]) throw new Error('no 6-digit code in the text');
  return match[1];
}
