// What a delivery error may say in a log or in the queue's last_error: never an address, a number or the message.

/** Lines of a text part worth scrubbing from error text: the link line, the code line. */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length >= 6);
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
export function scrubError(error: unknown, secrets: string[], depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: scrub(String(error), secrets) };
  const source = error as Error & Record<string, unknown>;
  const out: Record<string, unknown> = { type: error.name, message: scrub(error.message, secrets) };
  // `code` goes out as `errorCode`: the logger redacts `*.code` (verification codes).
  for (const [from, to] of [
    ['code', 'errorCode'],
    ['responseCode', 'responseCode'],
    ['command', 'command'],
    ['status', 'status'],
  ] as const) {
    const value = source[from];
    if (typeof value === 'number') out[to] = value;
    else if (typeof value === 'string') out[to] = scrub(value, secrets);
  }
  if (error.stack) out.stack = scrub(error.stack, secrets);
  if (error.cause !== undefined && depth < 3) out.cause = scrubError(error.cause, secrets, depth + 1);
  return out;
}
