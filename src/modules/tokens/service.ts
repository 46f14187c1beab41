import { decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Config } from '../../config.js';
import type { Clock } from '../../shared/clock.js';
import { decrypt, deriveKey, encrypt, sha256 } from '../../shared/crypto.js';
import type { Random } from '../../shared/random.js';
import { SIGNING_ALG, type KeyRing } from './keys.js';

/** RFC 9068 media type of JWT access tokens; checked on verify so no other JWT passes as one. */
const ACCESS_TYP = 'at+jwt';

type TokenDeps = { config: Config; clock: Clock; random: Random; keys: KeyRing };

export type AccessClaims = {
  sub: string;
  sid: string;
  amr: string[];
  email: string;
  emailVerified: boolean;
  roles: string[];
  caps: string[];
};

export type VerifiedToken = { userId: string; sessionId: string; pending: boolean; amr: string[]; expiresAt: number };

/** Audiences: full access tokens, and the pending token of an unfinished MFA login. */
export function audiences(config: Config) {
  return { access: config.publicUrl, pending: `${config.publicUrl}/mfa-pending` };
}

/** Signs an access token (RFC 9068 shape, plus roles and a space-separated `scope` of caps for gateways). */
export async function signAccessToken(deps: TokenDeps, claims: AccessClaims, options: { pending?: boolean; ttlMs?: number } = {}) {
  const now = deps.clock.now();
  const expiresAt = now + (options.ttlMs ?? deps.config.accessTokenTtlMs);
  const { kid, key } = deps.keys.current();
  const payload: JWTPayload = { sid: claims.sid, amr: claims.amr };
  if (!options.pending) {
    Object.assign(payload, {
      email: claims.email,
      email_verified: claims.emailVerified,
      roles: claims.roles,
      scope: claims.caps.join(' '),
    });
  }
  const aud = audiences(deps.config);
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: ACCESS_TYP })
    .setIssuer(deps.config.publicUrl)
    .setAudience(options.pending ? aud.pending : aud.access)
    .setSubject(claims.sub)
    .setJti(deps.random.uuid())
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(expiresAt / 1000))
    .sign(key);
  return { token, expiresAt: Math.floor(expiresAt / 1000) * 1000 };
}

/**
 * Verifies signature, algorithm, type, issuer, audience, expiry and required claims; null when
 * anything is off. jose is always given every check explicitly: its defaults check less.
 */
export async function verifyAccessToken(deps: Pick<TokenDeps, 'config' | 'clock' | 'keys'>, token: string): Promise<VerifiedToken | null> {
  const aud = audiences(deps.config);
  try {
    const { kid } = decodeProtectedHeader(token);
    if (typeof kid !== 'string') return null;
    const key = await deps.keys.publicKey(kid);
    if (!key) return null;
    const { payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALG],
      typ: ACCESS_TYP,
      issuer: deps.config.publicUrl,
      audience: [aud.access, aud.pending],
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
      currentDate: new Date(deps.clock.now()),
      clockTolerance: 5,
    });
    if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string') return null;
    const audience = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    return {
      userId: payload.sub,
      sessionId: payload.sid,
      pending: audience.includes(aud.pending),
      amr: Array.isArray(payload.amr) ? payload.amr.filter((m): m is string => typeof m === 'string') : [],
      expiresAt: (payload.exp ?? 0) * 1000,
    };
  } catch {
    return null;
  }
}

/** Opaque refresh token: `<session id>.<256 random bits>`. The session id only routes the lookup. */
export function mintRefreshToken(deps: Pick<TokenDeps, 'random'>, sessionId: string) {
  const token = `${sessionId}.${deps.random.token(32)}`;
  return { token, hash: sha256(token) };
}

export function parseRefreshToken(token: string): { sessionId: string; hash: string } | null {
  const match = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return match ? { sessionId: match[1]!, hash: sha256(token) } : null;
}

/**
 * The successor of a rotated refresh token is kept for the reuse grace, encrypted under a key
 * derived from the old token itself: only a holder of the old token can read it, and the
 * store never holds a usable refresh token in clear.
 */
export function sealSuccessor(oldToken: string, successor: string): string {
  return encrypt(deriveKey(oldToken, 'refresh-successor'), successor);
}

export function openSuccessor(oldToken: string, box: string): string | null {
  try {
    return decrypt(deriveKey(oldToken, 'refresh-successor'), box);
  } catch {
    return null;
  }
}
