import { z } from 'zod';
import { BadInputError } from '../../shared/errors.js';

const emailSchema = z.email();

/** Trims and lower-cases an email and checks its shape (RFC 5321 caps a path at 254 characters). */
export function normalizeEmail(input: string): string {
  const email = input.trim().toLowerCase();
  if (email.length > 254 || !emailSchema.safeParse(email).success) throw new BadInputError('Enter a valid email address', 'email');
  return email;
}

/** undefined → unchanged; null or blank → cleared; otherwise trimmed and length-checked. */
export function optionalText(value: string | null | undefined, field: string, max: number): string | null | undefined {
  if (value === undefined) return undefined;
  const text = value?.trim() ?? '';
  if (!text) return null;
  if (text.length > max) throw new BadInputError(`${field} must be at most ${max} characters`, field);
  return text;
}

/** A BCP 47 language tag such as `en`, `pt-BR` or `zh-Hant-TW`. */
export function optionalLanguage(value: string | null | undefined): string | null | undefined {
  const tag = optionalText(value, 'language', 35);
  if (!tag) return tag;
  if (!/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/.test(tag)) throw new BadInputError('language must be a BCP 47 tag such as en or pt-BR', 'language');
  return tag;
}

/** Only http(s) URLs: a javascript: or data: avatar would be an XSS vector in a dashboard. */
export function optionalHttpUrl(value: string | null | undefined, field: string): string | null | undefined {
  const text = optionalText(value, field, 2048);
  if (!text) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BadInputError(`${field} must be an http(s) URL`, field);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new BadInputError(`${field} must be an http(s) URL`, field);
  return url.toString();
}
