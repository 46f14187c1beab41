import type { IncomingMessage } from 'node:http';
import type { Deps } from './deps.js';
import { findPendingLogin, type PendingLogin } from './modules/mfa/challenge.js';
import { getUserAccess, type Access } from './modules/roles/queries.js';
import { accessTokenFromCookie } from './modules/sessions/cookies.js';
import type { TokenRefusal } from './modules/tokens/service.js';
import { clientIp } from './shared/client-ip.js';
import type { CookieJar } from './shared/cookie-jar.js';
import type { RequestMeta } from './shared/request-meta.js';
import type { SessionRecord } from './shared/store.js';

export type AuthState = {
  userId: string;
  sessionId: string;
  /** True for the pending token of an unfinished MFA login: only verify2fa, sendMfaCode and logout accept it. */
  pending: boolean;
  amr: string[];
  /** The live session; null for a pending token. */
  session: SessionRecord | null;
  /** A pending token's login, read once here for verify2fa and sendMfaCode; null for a full token. */
  pendingLogin: PendingLogin | null;
};

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
  /** The caller's roles and effective caps, loaded once per operation (not from the token: a role change counts at once). */
  access(): Promise<Access>;
};

/** lastSeenAt is written at most this often per session, so activity costs no write per request. */
const TOUCH_EVERY_MS = 60_000;

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
  const fromCookie = input.authorization ? null : accessTokenFromCookie(deps.config, cookies);
  const cookieToken = fromCookie && 'token' in fromCookie ? fromCookie.token : null;
  const bearer = input.authorization ? bearerToken(input.authorization) : null;
  const outcome = await authenticate(deps, bearer ?? cookieToken);
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
    access: () => (access ??= auth ? getUserAccess(deps.db, auth.userId) : Promise.resolve({ roles: [], caps: [] })),
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

type Outcome = { auth: AuthState } | { refused: TokenRefusal } | null;

async function authenticate(deps: Deps, credential: string | null): Promise<Outcome> {
  if (credential === null) return null;
  const invalid = { refused: 'invalid_token' } as const;
  if (!credential) return invalid;
  const verified = await deps.tokens.verify(credential);
  if (!('token' in verified)) return verified;
  const { token } = verified;
  const now = deps.clock.now();
  // A token whose session or pending login has ended is "revoked": invalid_token (RFC 6750 §3.1).
  if (token.pending) {
    const pendingLogin = await findPendingLogin(deps, token.sessionId);
    if (!pendingLogin || pendingLogin.userId !== token.userId) return invalid;
    return { auth: { userId: token.userId, sessionId: token.sessionId, pending: true, amr: token.amr, session: null, pendingLogin } };
  }
  const session = await deps.store.sessions.get(token.sessionId, now);
  if (!session || session.userId !== token.userId || session.pending) return invalid;
  if (now - session.lastSeenAt > TOUCH_EVERY_MS) {
    deps.store.sessions.touch(session.id, now).catch((err) => deps.logger.warn({ err }, 'session touch failed'));
  }
  return { auth: { userId: token.userId, sessionId: token.sessionId, pending: false, amr: token.amr, session, pendingLogin: null } };
}

/** Reads what the context needs from a Node request (HTTP, or the upgrade request of a WebSocket). */
export function nodeRequestInfo(req: IncomingMessage | undefined) {
  const header = (name: string) => {
    const value = req?.headers[name];
    return Array.isArray(value) ? value.join(',') : (value ?? null);
  };
  return { remoteAddress: req?.socket.remoteAddress ?? null, forwardedFor: header('x-forwarded-for'), userAgent: header('user-agent') };
}
