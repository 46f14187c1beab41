import { isIP } from 'node:net';
import { z } from 'zod';
import { BadInputError } from '../../shared/errors.js';
import { isNonPublicAddress } from '../../shared/ip-ranges.js';

const emailSchema = z.email();

/** Trims and lower-cases an email and checks its shape (RFC 5321 caps a path at 254 characters). */
export function normalizeEmail(input: string): string {
  const email = input.trim().toLowerCase();
  if (email.length > 254 || !emailSchema.safeParse(email).success) throw new BadInputError('Enter a valid email address', 'email');
  return email;
}

/**
 * C0 control characters and DEL. NUL cannot be stored in a Postgres text (the database refuses
 * the whole statement); the others have no place in a name and only hide or fake text in a
 * dashboard. Multi-line fields keep tab and line breaks.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_EXCEPT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** BAD_USER_INPUT when the text holds a control character (tab and line breaks allowed when `multiline`). */
export function checkPlainText(text: string, field: string, options: { multiline?: boolean } = {}): string {
  if ((options.multiline ? CONTROL_EXCEPT_LINES : CONTROL).test(text)) throw new BadInputError(`${field} must not contain control characters`, field);
  return text;
}

/** undefined → unchanged; null or blank → cleared; otherwise trimmed, length- and control-character-checked. */
export function optionalText(value: string | null | undefined, field: string, max: number, options: { multiline?: boolean } = {}): string | null | undefined {
  if (value === undefined) return undefined;
  const text = value?.trim() ?? '';
  if (!text) return null;
  if (text.length > max) throw new BadInputError(`${field} must be at most ${max} characters`, field);
  return checkPlainText(text, field, options);
}

/** A BCP 47 language tag such as `en`, `pt-BR` or `zh-Hant-TW`. */
export function optionalLanguage(value: string | null | undefined): string | null | undefined {
  const tag = optionalText(value, 'language', 35);
  if (!tag) return tag;
  if (!/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/.test(tag)) throw new BadInputError('language must be a BCP 47 tag such as en or pt-BR', 'language');
  return tag;
}

/** Names that resolve to the machine itself or only inside a private network (RFC 6761, RFC 8375). */
const LOCAL_NAME = /(^|\.)(localhost|local|localdomain|internal|intranet|lan|home\.arpa)$/;

/**
 * Only https URLs to public hosts. A javascript: or data: avatar would be an XSS vector in a
 * dashboard; http would load mixed content; and an address on a private network (an IP
 * literal or a localhost-like name) would make every client that shows the avatar send a
 * request into its own network (OWASP SSRF Prevention Cheat Sheet; the server never fetches it).
 */
export function optionalHttpUrl(value: string | null | undefined, field: string): string | null | undefined {
  const text = optionalText(value, field, 2048);
  if (!text) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BadInputError(`${field} must be an https URL`, field);
  }
  if (url.protocol !== 'https:') throw new BadInputError(`${field} must be an https URL`, field);
  // Credentials in a URL end up in logs and in every client's history.
  if (url.username || url.password) throw new BadInputError(`${field} must not contain credentials`, field);
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (isNonPublicAddress(host) || LOCAL_NAME.test(host) || (!isIP(host.replace(/^\[|\]$/g, '')) && !host.includes('.'))) {
    throw new BadInputError(`${field} must point to a public host`, field);
  }
  return url.toString();
}
