import { createHmac } from 'node:crypto';
import type { Random } from '../../shared/random.js';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford-style alphabet without I, L, O, U: nothing to misread when typing a code from paper. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 16 characters of 5 bits: 80 bits, the least NIST SP 800-63B rev 4 §3.1.2 asks of a look-up secret. */
const CODE_LENGTH = 16;
/** Codes issued before 80 bits (12 characters, 60 bits) keep working until used or regenerated. */
const LEGACY_LENGTH = 12;

/** Ten codes of 16 characters (80 bits each) in groups of four: `7K3Q-M9XD-2HTW-P4RB`. */
export function generateRecoveryCodes(random: Random): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    // 256 is a multiple of 32: the low 5 bits of a random byte are uniform.
    const chars = [...random.bytes(CODE_LENGTH)].map((b) => ALPHABET[b & 31]!).join('');
    return chars.match(/.{4}/g)!.join('-');
  });
}

/** Upper-cased, separators and spaces dropped; null when it cannot be a recovery code (new or legacy). */
export function normalizeRecoveryCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== CODE_LENGTH && code.length !== LEGACY_LENGTH) return null;
  return /^[0-9A-HJKMNP-TV-Z]+$/.test(code) ? code : null;
}

/**
 * A keyed hash (HMAC-SHA256 under a key derived from SECRET_KEY): a stolen table without the
 * key is useless, and the legacy 60-bit codes could not survive an offline search of a plain hash.
 */
export function hashRecoveryCode(key: Buffer, normalized: string): string {
  return createHmac('sha256', key).update(normalized).digest('hex');
}
