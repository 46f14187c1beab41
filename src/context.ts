import type { IncomingMessage } from 'node:http';
import type { Deps } from './deps.js';
import { readAccessTokenCookie } from './graphql/auth-cookies.js';
import { cachedUserAccess } from './modules/roles/access-cache.js';
import type { Access } from './modules/roles/queries.js';
import { type AuthState, authenticateRequest } from './modules/sessions/authenticate.js';
import type { TokenRefusal } from './modules/tokens/service.js';
import { clientIp } from './shared/client-ip.js';
import type { CookieJar } from './shared/cookie-jar.js';
import type { RequestMeta } from './shared/request-meta.js';

export type { AuthState };

/** The one context of HTTP and WebSocket operations. */
export type Context = {
  deps: Deps;
  auth: AuthState | null;
  /** Why credentials the request carried were not accepted (a cookie without the CSRF header): the UNAUTHENTICATED message. */
  authRefusal: string | null;
  /**
   * Why a presented access token (bearer or cookie) authenticates nobody; null when none was
   * presented or it was accepted. UNAUTHENTICATED then carries it as `extensions.reason`, and a
   * refused bearer token also gets `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3).
   */
  tokenRefusal: { reason: TokenRefusal; bearer: boolean } | null;
  meta: RequestMeta;
  /** The HTTP request's cookies and the response's Set-Cookie headers; null over WebSocket. */
  cookies: CookieJar | null;
  /** The caller's roles and effective caps, loaded once per operation (not from the token: a role change counts at once, see roles/access-cache.ts). */
  access(): Promise<Access>;
};

export type ContextInput = {
  deps: Deps;
  requestId: string;
  authorization: string | null | undefined;
  userAgent: string | null | undefined;
  remoteAddress: string | null | undefined;
  forwardedFor: string | null | undefined;
  /** HTTP only: a WebSocket's upgrade request carries cookies too, but they never authenticate (no CORS on WebSocket). */
  cookies?: CookieJar | null;
};

/**
 * Bearer token (or access cookie) → verified claims → live session. A token whose session is gone (logout,
 * password change, revocation, on any instance) authenticates nobody from the next request on.
 */
export async function createContext(input: ContextInput): Promise<Context> {
  const { deps } = input;
  const meta: RequestMeta = {
    requestId: input.requestId,
    ip: clientIp(input.remoteAddress, input.forwardedFor, deps.config.trustProxy),
    userAgent: input.userAgent ? input.userAgent.slice(0, 512) : null,
  };
  const cookies = input.cookies ?? null;
  // The Authorization header, when present, is the credential, even a bad one; the access cookie only stands in for it.
  const fromCookie = input.authorization ? null : readAccessTokenCookie(deps.config, cookies);
  const cookieToken = fromCookie && 'token' in fromCookie ? fromCookie.token : null;
  const bearer = input.authorization ? bearerToken(input.authorization) : null;
  const outcome = await authenticateRequest(deps, bearer ?? cookieToken);
  const auth = outcome && 'auth' in outcome ? outcome.auth : null;
  const tokenRefusal = outcome && 'refused' in outcome ? { reason: outcome.refused, bearer: bearer !== null } : null;
  let access: Promise<Access> | null = null;
  return {
    deps,
    auth,
    authRefusal: fromCookie && 'refusal' in fromCookie ? fromCookie.refusal : null,
    tokenRefusal,
    meta,
    cookies,
    access: () => (access ??= auth ? cachedUserAccess(deps, auth.userId) : Promise.resolve({ roles: [], caps: [] })),
  };
}

/**
 * The token of a Bearer Authorization header; '' (an unusable token) for the Bearer scheme with
 * a malformed value; null for another scheme, which counts as no token at all.
 */
function bearerToken(authorization: string): string | null {
  const value = authorization.trim();
  if (!/^Bearer(\s|$)/i.test(value)) return null;
  return /^Bearer ([A-Za-z0-9_.-]+)$/i.exec(value)?.[1] ?? '';
}

/** Reads what the context needs from a Node request (HTTP, or the upgrade request of a WebSocket). */
export function readNodeRequestInfo(req: IncomingMessage | undefined) {
  const header = (name: string) => {
    const value = req?.headers[name];
    return Array.isArray(value) ? value.join(',') : (value ?? null);
  };
  return { remoteAddress: req?.socket.remoteAddress ?? null, forwardedFor: header('x-forwarded-for'), userAgent: header('user-agent') };
}
