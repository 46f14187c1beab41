import { isCommonPassword } from './blocklist.js';
import { WeakPasswordError } from './errors.js';

/** NIST SP 800-63B §5.1.1.2 and ASVS 5.0 V6.2: long passwords allowed, no composition rules. */
export const PASSWORD_MAX_LENGTH = 256;

export type PasswordContext = {
  minLength: number;
  /** The account's email: its local part and domain words are expected values. */
  email?: string;
  /** APP_NAME: the product's name is the first word many people reach for. */
  appName?: string;
};

/**
 * What people add to a word to pass a policy: up to 3 symbols, up to 4 digits (a year), up to 3
 * symbols, at the end. `Password123!` is `password` with decoration; stripped, it is common.
 */
const DECORATION = /[^\p{L}\p{N}]{0,3}\p{N}{0,4}[^\p{L}\p{N}]{0,3}$/u;
const alnum = (text: string) => text.replace(/[^\p{L}\p{N}]/gu, '');

/**
 * Throws WEAK_PASSWORD unless the password is within length, not on the blocklist (as typed or
 * with a trailing year, digits or symbols stripped) and not built on a context word: the
 * product's name, the email's local part or its domain's words (NIST SP 800-63B rev 4
 * §3.1.1.2: blocklist of commonly used, expected or compromised values, context-specific
 * words). Case-insensitive; length counts Unicode code points after NFKC (§5.1.1.2). The
 * message says why, never echoing the password.
 */
export function checkPasswordPolicy(password: string, options: PasswordContext): void {
  const normalized = password.normalize('NFKC');
  const length = [...normalized].length;
  if (length < options.minLength) throw new WeakPasswordError(`Use at least ${options.minLength} characters`);
  if (length > PASSWORD_MAX_LENGTH) throw new WeakPasswordError(`Use at most ${PASSWORD_MAX_LENGTH} characters`);
  const lower = normalized.toLowerCase();
  if (isCommonPassword(lower)) throw new WeakPasswordError('This password is on a list of common or breached passwords; choose another');
  const base = lower.replace(DECORATION, '');
  if (base !== lower && [...base].length >= 3 && isCommonPassword(base)) {
    throw new WeakPasswordError('This password is a common password with digits or symbols added; choose another');
  }
  const email = options.email?.toLowerCase();
  if (email && (lower === email || builtOn(base, emailWords(email)))) throw new WeakPasswordError('Do not base your password on your email address');
  if (options.appName && builtOn(base, nameWords(options.appName))) throw new WeakPasswordError('Do not base your password on the name of this service');
  if (/^(.)\1+$/u.test(normalized)) throw new WeakPasswordError('Do not repeat one character');
}

/** The local part (whole and split at . _ + -) and the domain's labels but the last, 3 characters or more. */
function emailWords(email: string): string[] {
  const at = email.lastIndexOf('@');
  const local = at < 0 ? email : email.slice(0, at);
  const labels =
    at < 0
      ? []
      : email
          .slice(at + 1)
          .split('.')
          .slice(0, -1);
  return [alnum(local), ...local.split(/[._+-]/), ...labels].map(alnum).filter((w) => w.length >= 3);
}

function nameWords(name: string): string[] {
  const lower = name.normalize('NFKC').toLowerCase();
  return [alnum(lower), ...lower.split(/[^\p{L}\p{N}]+/u)].filter((w) => w.length >= 3);
}

/**
 * True when the password, decoration stripped, is a context word, or a context word plus too
 * little else (under 4 characters) or plus a common password: `acme2026`, `alice.smith!`,
 * `acmepassword1`. A long passphrase that merely contains the word passes.
 */
function builtOn(base: string, words: string[]): boolean {
  const core = alnum(base);
  return words.some((word) => {
    if (!core.includes(word)) return false;
    const rest = core.replace(word, '');
    return [...rest].length < 4 || isCommonPassword(rest);
  });
}

/** What the hasher sees: the same normalisation as the policy, so "é" typed two ways matches. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}
