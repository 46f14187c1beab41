import { isIP } from 'node:net';
import type { Config } from '../../config.js';
import { BadInputError } from '../../shared/errors.js';

/** Loopback hosts: the only ones that may be reached over plain http (development and tests). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/**
 * An issuer or endpoint URL: https, or http on a loopback host; no credentials or fragment
 * (RFC 8414 §2: an issuer has no query or fragment). BAD_USER_INPUT naming `field` otherwise.
 */
export function checkProviderUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new BadInputError(`${field} must be a URL`, field);
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  if (!secure) throw new BadInputError(`${field} must use https (http only for loopback hosts)`, field);
  if (url.username || url.password || url.hash) throw new BadInputError(`${field} must not hold credentials or a fragment`, field);
  return value.trim();
}

/** The redirect URI registered at every provider: PUBLIC_URL/oauth/:provider/callback. */
export function callbackUrl(config: Pick<Config, 'publicUrl'>, provider: string): string {
  return `${config.publicUrl}/oauth/${encodeURIComponent(provider)}/callback`;
}

/** Where a finished flow lands by default: the gateway's own page when APP_URL is the gateway. */
export function defaultRedirectTo(config: Pick<Config, 'appUrl'>): string {
  return `${config.appUrl}/oauth/callback`;
}

/**
 * redirectTo must be under APP_URL: same origin and within its path, so the callback is no open
 * redirect (ASVS 5.0 V3.7.2, RFC 9700 §4.11). Returns the normalised URL, or null when refused.
 */
export function allowedRedirect(config: Pick<Config, 'appUrl'>, redirectTo: string | null | undefined): string | null {
  if (redirectTo == null || redirectTo === '') return defaultRedirectTo(config);
  let url: URL;
  try {
    url = new URL(redirectTo);
  } catch {
    return null;
  }
  const base = new URL(`${config.appUrl}/`);
  if (url.origin !== base.origin || url.username || url.password) return null;
  if (!`${url.pathname}/`.startsWith(base.pathname) && url.pathname !== base.pathname.replace(/\/$/, '')) return null;
  url.hash = '';
  return url.href;
}

/** redirectTo with one query parameter set (the one-time code, the error code, or linked=). */
export function withParam(redirectTo: string, name: string, value: string): string {
  const url = new URL(redirectTo);
  for (const key of ['code', 'error', 'linked']) url.searchParams.delete(key);
  url.searchParams.set(name, value);
  return url.href;
}
