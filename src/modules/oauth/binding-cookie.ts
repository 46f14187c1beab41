import { stringifySetCookie } from 'cookie';
import type { Config } from '../../config.js';
import { STATE_TTL_MS } from './flow.js';

/**
 * The cookie that binds a flow's state to the browser that started it (login CSRF, RFC 9700
 * §4.7.1): a callback whose browser lacks it is refused, so an attacker cannot make a victim's
 * browser finish the attacker's sign-in. `__Host-` in production (Secure, Path=/, no Domain).
 * SameSite=Lax, not Strict: the provider sends the browser back by a cross-site top-level GET,
 * which Lax lets through and Strict would not. HttpOnly: script never reads it.
 */
export function bindingCookieName(config: Pick<Config, 'isProduction'>): string {
  return config.isProduction ? '__Host-oauth_binding' : 'oauth_binding';
}

export function bindingSetCookie(config: Pick<Config, 'isProduction'>, value: string, maxAgeMs = STATE_TTL_MS): string {
  return stringifySetCookie({
    name: bindingCookieName(config),
    value,
    httpOnly: true,
    secure: config.isProduction,
    sameSite: 'lax',
    path: '/',
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}
