import { dictionary } from '@zxcvbn-ts/language-common';
import { WeakPasswordError } from './errors.js';

/** NIST SP 800-63B §5.1.1.2 and ASVS 5.0 V6.2: long passwords allowed, no composition rules. */
export const PASSWORD_MAX_LENGTH = 256;

/**
 * zxcvbn's ranked list of ~49,000 common passwords (from breach corpora), well past the
 * 10,000 that ASVS 5.0 V6.2.4 asks to block. Loaded once per process.
 */
let common: Set<string> | null = null;
function commonPasswords(): Set<string> {
  common ??= new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));
  return common;
}

/**
 * Throws WEAK_PASSWORD unless the password is within length, not a common password and not
 * the account's email (or its local part). Length counts Unicode code points, and the
 * password is NFKC-normalised first as NIST SP 800-63B §5.1.1.2 recommends.
 */
export function checkPasswordPolicy(password: string, options: { minLength: number; email?: string }): void {
  const normalized = password.normalize('NFKC');
  const length = [...normalized].length;
  if (length < options.minLength) throw new WeakPasswordError(`Use at least ${options.minLength} characters`);
  if (length > PASSWORD_MAX_LENGTH) throw new WeakPasswordError(`Use at most ${PASSWORD_MAX_LENGTH} characters`);
  const lower = normalized.toLowerCase();
  if (commonPasswords().has(lower)) throw new WeakPasswordError('This password is too common; choose another');
  if (options.email) {
    const email = options.email.toLowerCase();
    const local = email.split('@')[0] ?? '';
    if (lower === email || (local.length >= 4 && lower === local)) throw new WeakPasswordError('Do not use your email address as your password');
  }
  if (/^(.)\1+$/u.test(normalized)) throw new WeakPasswordError('Do not repeat one character');
}

/** What the hasher sees: the same normalisation as the policy, so "é" typed two ways matches. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}
