import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { BadInputError } from '../../shared/errors.js';

/**
 * A phone number in international form (`+` and the country code; spaces, dots, dashes and
 * brackets allowed) → E.164 (`+14155552671`). Numbers that cannot exist for their country
 * (by the full libphonenumber metadata) are refused with BAD_USER_INPUT.
 */
export function normalizePhone(input: string, field = 'phone'): string {
  const text = input.trim();
  if (text.length > 32 || !text.startsWith('+')) throw new BadInputError('Enter the phone number in international format, e.g. +14155552671', field);
  const phone = parsePhoneNumberFromString(text);
  if (!phone?.isValid()) throw new BadInputError('Enter a valid phone number in international format, e.g. +14155552671', field);
  return phone.number;
}

/** undefined → unchanged, null or blank → none, otherwise E.164. */
export function optionalPhone(input: string | null | undefined): string | null | undefined {
  if (input === undefined) return undefined;
  if (input === null || !input.trim()) return null;
  return normalizePhone(input);
}
