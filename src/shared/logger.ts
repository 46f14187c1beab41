import { pino, type DestinationStream, type Logger } from 'pino';
import PinoPretty from 'pino-pretty';

export type { Logger };

/**
 * Paths that may hold a secret anywhere in a log record. Nothing logs variables or bodies,
 * but redaction is the second line of defence (ASVS 5.0 V16.2.5: no credentials in logs).
 */
const REDACT = [
  'password',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.refreshToken',
  '*.accessToken',
  '*.secret',
  '*.code',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'variables',
  '*.variables',
];

/**
 * Creates the process logger; tests pass a destination to read what was logged. `pretty`
 * (a developer's terminal, see wantsPrettyLogs) prints readable lines and mails as blocks
 * instead of JSON; the same redaction applies, since it happens before formatting.
 */
export function createLogger(options: { level: string; destination?: DestinationStream; pretty?: boolean }): Logger {
  const destination = options.pretty ? prettyStream(options.destination) : (options.destination ?? asyncStdout());
  return pino(
    {
      level: options.level,
      base: { service: 'graphql-auth-gateway' },
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: { err: serializeError },
    },
    destination,
  );
}

/**
 * stdout written asynchronously (pino's "asynchronous logging"): a request's log line is queued
 * and written by the event loop instead of a blocking write(2) per line on the request's path.
 * Lines are gathered up to LOG_BATCH_BYTES and written together, and whatever is gathered is
 * written every LOG_FLUSH_MS, so a quiet server's lines appear within that time; under load one
 * write(2) carries dozens of lines (a write per line was about 4 % of a `me` request's CPU).
 * pino flushes what is queued when the process exits, crashes included.
 */
const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 200;

function asyncStdout(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS });
}

/** Pretty output only for a person: outside production, with stdout a terminal. JSON otherwise (log shippers). */
export function wantsPrettyLogs(env: { isProduction: boolean; isTTY: boolean | undefined }): boolean {
  return !env.isProduction && env.isTTY === true;
}

function prettyStream(destination?: DestinationStream): DestinationStream {
  return PinoPretty({
    sync: true,
    colorize: !destination,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    ...(destination ? { destination } : {}),
    customPrettifiers: { mail: (value) => messageBlock(value, 'mail'), sms: (value) => messageBlock(value, 'sms') },
  });
}

/** A printed mail or SMS (the log mailer, no SMTP_URL) as a block a developer can read and click. */
export function messageBlock(value: unknown, kind: 'mail' | 'sms'): string {
  const m = (value ?? {}) as { to?: string; subject?: string; text?: string; body?: string };
  const rule = '─'.repeat(72);
  const head = [`To:      ${m.to ?? ''}`, ...(m.subject ? [`Subject: ${m.subject}`] : [])];
  const text = (kind === 'sms' ? m.body : m.text) ?? '';
  return ['', rule, ...head, '', ...text.split('\n'), rule].map((line) => (line ? `    ${line}` : '')).join('\n');
}

/**
 * pino's error serializer, minus what may carry secrets: drizzle puts the bound parameters
 * of a failed query (password hashes, token hashes) into the message and a `params` field,
 * and Postgres quotes row values in `detail`. Applied at every level of `cause`.
 */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const out = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  // `detail` of a Postgres error can quote a whole failing row ("Failing row contains (...)").
  for (const key of ['params', 'parameters', 'args', 'detail']) delete out[key];
  if (typeof out.message === 'string') out.message = stripParams(out.message);
  if (typeof out.stack === 'string') out.stack = stripParams(out.stack);
  if (error.cause) out.cause = serializeError(error.cause);
  return out;
}

function stripParams(text: string): string {
  return text.replace(/\nparams: [\s\S]*?(?=\n {4}at |$)/, '\nparams: [redacted]');
}
