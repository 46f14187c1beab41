import { createHmac } from 'node:crypto';
import type { Random } from '../../shared/random.js';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford-style alphabet without I, L, O, U: nothing to misread when typing a code from paper. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Ten codes of 12 characters (60 bits each) in groups of four: `7K3Q-M9XD-2HTW`. */
export function generateRecoveryCodes(random: Random): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = [...random.bytes(12)].map((b) => ALPHABET[b & 31]!).join('');
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
  });
}

/** Upper-cased, separators and spaces dropped; null when it cannot be a recovery code. */
export function normalizeRecoveryCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  return /^[0-9A-HJKMNP-TV-Z]{12}$/.test(code) ? code : null;
}

/**
 * A keyed hash (HMAC-SHA256 under a key derived from SECRET_KEY): 60 random bits are too few to
 * survive an offline search of a plain hash, but a stolen table without the key is useless.
 */
export function hashRecoveryCode(key: Buffer, normalized: string): string {
  return createHmac('sha256', key).update(normalized).digest('hex');
}
