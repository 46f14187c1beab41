import { stringifySetCookie, type SetCookie } from 'cookie';
import type { Config } from '../config.js';
import type { Deps } from '../deps.js';
import type { CookieJar } from '../shared/cookie-jar.js';
import { BadInputError, DomainError, UnauthenticatedError } from '../shared/errors.js';
import type { AuthResult } from '../modules/sessions/auth-payload.js';

/** What the cookie helpers need from a resolver's context. */
export type CookieContext = { deps: Pick<Deps, 'config' | 'clock'>; cookies: CookieJar | null };

/**
 * The token cookies' names. Production uses the `__Host-` prefix (RFC 6265bis §4.1.3.2): a
 * browser stores such a cookie only with Secure, Path=/ and no Domain, so neither plain http
 * nor a sibling subdomain can plant or overwrite it (cookie tossing), and we read no other
 * name there. Outside production the plain names work over http://localhost.
 */
export function getAuthCookieNames(config: Pick<Config, 'isProduction'>) {
  return config.isProduction ? { access: '__Host-access_token', refresh: '__Host-refresh_token' } : { access: 'access_token', refresh: 'refresh_token' };
}

/**
 * HttpOnly keeps the tokens from script (an XSS cannot read them). SameSite=Strict on both:
 * The design asks it of the refresh cookie (README "Tokens and sessions"); for the access cookie Lax would only add top-level
 * cross-site GET navigations, which a GraphQL API never needs and which would carry the
 * credential into a GET query, so Strict costs nothing and closes that door. Max-Age rather than
 * Expires: relative, so a client's clock skew cannot stretch it; floored, so a cookie never
 * outlives its token.
 */
function tokenCookie(config: Pick<Config, 'isProduction'>, name: string, value: string, maxAgeSeconds: number): string {
  const cookie: SetCookie = { name, value, httpOnly: true, sameSite: 'strict', path: '/', maxAge: maxAgeSeconds, secure: config.isProduction };
  return stringifySetCookie(cookie);
}

/**
 * Sets the access and refresh cookies of a full session. A pending MFA login sets nothing: a
 * pending token is good only for finishing the login, which is where the cookies belong (verify2fa with setCookie).
 */
export function setAuthCookies(ctx: CookieContext, auth: AuthResult | null): void {
  const { config, clock } = ctx.deps;
  if (!ctx.cookies || !auth || auth.mfaRequired || !auth.refreshToken || !auth.refreshTokenExpiresAt) return;
  const now = clock.now();
  const seconds = (until: Date) => Math.max(0, Math.floor((until.getTime() - now) / 1000));
  const names = getAuthCookieNames(config);
  ctx.cookies.set(names.access, tokenCookie(config, names.access, auth.accessToken, seconds(auth.accessTokenExpiresAt)));
  ctx.cookies.set(names.refresh, tokenCookie(config, names.refresh, auth.refreshToken, seconds(auth.refreshTokenExpiresAt)));
}

/** Tells the browser to drop both token cookies (Max-Age=0). A no-op outside HTTP. */
export function clearAuthCookies(ctx: CookieContext): void {
  if (!ctx.cookies) return;
  const names = getAuthCookieNames(ctx.deps.config);
  for (const name of [names.access, names.refresh]) ctx.cookies.set(name, tokenCookie(ctx.deps.config, name, '', 0));
}

/**
 * Runs a sign-in and, when setCookie is true, sets its tokens as cookies as well (they stay in
 * the payload: its fields are non-null). setCookie is refused before anything runs where no
 * response can carry a cookie (a WebSocket operation): a session whose cookies silently never
 * arrive would be worse.
 */
export async function withAuthCookies<T>(
  ctx: CookieContext,
  setCookie: boolean | null | undefined,
  run: () => Promise<T>,
  authOf: (result: T) => AuthResult | null,
): Promise<T> {
  if (setCookie && !ctx.cookies) throw new BadInputError('setCookie needs an HTTP request; a WebSocket has no cookies', 'setCookie');
  const result = await run();
  if (setCookie) setAuthCookies(ctx, authOf(result));
  return result;
}

/** Explains a refused cookie: what UNAUTHENTICATED says when cookies came without the CSRF header. */
export function describeCsrfRefusal(jar: CookieJar): string {
  return `Cookie credentials need the ${jar.csrfHeader} header`;
}

/**
 * The access token of a request without an Authorization header, from its access cookie.
 * A cookie counts only with the CSRF header, which a cross-site form, link or image cannot
 * send and cross-origin script can send only after a CORS preflight; without it the request is
 * unauthenticated and told why (`refusal`), rather than the cookie being silently dropped.
 */
export function readAccessTokenCookie(config: Pick<Config, 'isProduction'>, jar: CookieJar | null): { token: string } | { refusal: string } | null {
  const token = jar?.get(getAuthCookieNames(config).access);
  if (!jar || !token) return null;
  return jar.hasCsrfHeader ? { token } : { refusal: describeCsrfRefusal(jar) };
}

/**
 * refreshToken: the token from the argument, else from the refresh cookie. The cookie needs the
 * CSRF header as the access cookie does; without it the answer is UNAUTHENTICATED, not
 * INVALID_TOKEN, since the token may be fine and a client told INVALID_TOKEN would sign the user
 * out. No cookie at all is INVALID_TOKEN, as a missing argument always was. A token from the
 * cookie always gets its successor back as cookies (else the cookie would keep the rotated
 * token, whose reuse after the grace revokes the session); an unusable one is cleared.
 */
export async function refreshWithCookies(
  ctx: CookieContext,
  given: string | null | undefined,
  setCookie: boolean | null | undefined,
  rotate: (token: string | null) => Promise<AuthResult>,
): Promise<AuthResult> {
  if (given != null)
    return withAuthCookies(
      ctx,
      setCookie,
      () => rotate(given),
      (auth) => auth,
    );
  const jar = ctx.cookies;
  const token = jar?.get(getAuthCookieNames(ctx.deps.config).refresh);
  if (!jar || !token) return rotate(null);
  if (!jar.hasCsrfHeader) throw new UnauthenticatedError(describeCsrfRefusal(jar));
  try {
    const auth = await rotate(token);
    setAuthCookies(ctx, auth);
    return auth;
  } catch (error) {
    if (error instanceof DomainError && error.code === 'INVALID_TOKEN') clearAuthCookies(ctx);
    throw error;
  }
}
