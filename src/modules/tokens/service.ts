import { type CryptoKey, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { KeyObject, sign } from 'node:crypto';
import type { Config } from '../../config.js';
import type { Clock } from '../../shared/clock.js';
import { decrypt, deriveKey, encrypt, sha256 } from '../../shared/crypto.js';
import type { Random } from '../../shared/random.js';
import type { KeyRing, SigningAlg } from './keys.js';

/** RFC 9068 media type of JWT access tokens; checked on verify so no other JWT passes as one. */
const ACCESS_TYP = 'at+jwt';
/**
 * The longest a pending MFA token may live (the pending login's lifetime, mfa/challenge.ts); a
 * full token lives ACCESS_TOKEN_TTL. Verification refuses a longer `exp - iat` for either.
 */
export const PENDING_TOKEN_MAX_TTL_MS = 5 * 60_000;

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

export type VerifiedToken = { userId: string; sessionId: string; pending: boolean; amr: string[]; expiresAt: number; kid: string };

/**
 * Why a presented token was refused, as RFC 6750 clients need it: `token_expired` (refresh and
 * retry) or `invalid_token` (anything else: sign in again). Only a token with a valid signature
 * is ever called expired.
 */
export type TokenRefusal = 'invalid_token' | 'token_expired';
export type VerifyResult = { token: VerifiedToken } | { refused: TokenRefusal };

/** Audiences: full access tokens, and the pending token of an unfinished MFA login. */
export function audiences(config: Config) {
  return { access: config.publicUrl, pending: `${config.publicUrl}/mfa-pending` };
}

/** Signs an access token (RFC 9068 shape, plus roles and a space-separated `scope` of caps for gateways). */
export async function signAccessToken(deps: TokenDeps, claims: AccessClaims, options: { pending?: boolean; ttlMs?: number } = {}) {
  const now = deps.clock.now();
  const ttlMs = options.ttlMs ?? deps.config.accessTokenTtlMs;
  if (ttlMs > (options.pending ? PENDING_TOKEN_MAX_TTL_MS : deps.config.accessTokenTtlMs)) throw new Error('token lifetime beyond what verification accepts');
  const expiresAt = now + ttlMs;
  const { kid, key, alg } = deps.keys.current();
  const aud = audiences(deps.config);
  const payload: JWTPayload = {
    iss: deps.config.publicUrl,
    aud: options.pending ? aud.pending : aud.access,
    sub: claims.sub,
    jti: deps.random.uuid(),
    iat: Math.floor(now / 1000),
    exp: Math.floor(expiresAt / 1000),
    sid: claims.sid,
    amr: claims.amr,
    ...(options.pending ? {} : { email: claims.email, email_verified: claims.emailVerified, roles: claims.roles, scope: claims.caps.join(' ') }),
  };
  const token = await signCompact(alg, key, { alg, kid, typ: ACCESS_TYP }, payload);
  return { token, expiresAt: Math.floor(expiresAt / 1000) * 1000 };
}

/** node:crypto's KeyObject behind each signing key, made once per key. */
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/**
 * A compact JWS (RFC 7515 §7.1) signed with node:crypto: EdDSA and ES256 at once (tens of
 * microseconds), RS256 (a millisecond or so) on the libuv pool. Not jose's sign, which goes
 * through WebCrypto: about four times the CPU per token, and each signature queued on the libuv
 * pool behind the password hashes of concurrent logins. Verification stays with jose, so every
 * token is checked by the library, the tests' and any relying party's verifiers alike.
 */
async function signCompact(alg: SigningAlg, key: CryptoKey, header: Record<string, string>, payload: JWTPayload): Promise<string> {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  let keyObject = keyObjects.get(key);
  if (!keyObject) keyObjects.set(key, (keyObject = KeyObject.from(key)));
  const data = Buffer.from(input);
  let signature: Buffer;
  if (alg === 'EdDSA') signature = sign(null, data, keyObject);
  // JWS wants ECDSA signatures as r || s (RFC 7518 §3.4), not DER.
  else if (alg === 'ES256') signature = sign('sha256', data, { key: keyObject, dsaEncoding: 'ieee-p1363' });
  else {
    const rsaKey = keyObject;
    signature = await new Promise<Buffer>((resolve, reject) => sign('sha256', data, rsaKey, (err, sig) => (err ? reject(err) : resolve(sig))));
  }
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * Verifies signature, algorithm, type, issuer, audience, expiry, issue time, lifetime and
 * required claims. jose is always given every check explicitly: its defaults check less.
 */
export async function verifyAccessToken(deps: Pick<TokenDeps, 'config' | 'clock' | 'keys'>, token: string): Promise<VerifyResult> {
  const invalid = { refused: 'invalid_token' } as const;
  // A JWS signature has exactly one base64url spelling; others (a last character whose unused
  // bits differ) decode to the same bytes and would verify, yet be a new string to every cache
  // keyed on the token (RFC 7515 §2, RFC 4648 §3.5: no non-alphabet or non-zero pad bits).
  if (!isCanonicalCompact(token)) return invalid;
  const aud = audiences(deps.config);
  const now = deps.clock.now();
  const leeway = deps.config.accessTokenLeewayMs / 1000;
  try {
    const { kid } = decodeProtectedHeader(token);
    if (typeof kid !== 'string') return invalid;
    const found = await deps.keys.publicKey(kid);
    if (!found) return invalid;
    // Only the alg of the key the kid names (RFC 8725 §3.1: no algorithm confusion).
    const { payload } = await jwtVerify(token, found.key, {
      algorithms: [found.alg],
      typ: ACCESS_TYP,
      issuer: deps.config.publicUrl,
      audience: [aud.access, aud.pending],
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
      currentDate: new Date(now),
      clockTolerance: leeway,
    });
    if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string') return invalid;
    const audience = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const pending = audience.includes(aud.pending);
    // jose checks neither: a token issued in the future or living far beyond what we sign is
    // not one of ours as issued (a signing-side bug or a key in the wrong hands), so refuse it
    // (ASVS 5.0 V9.2.1: token lifetime enforced by the consumer).
    const iat = payload.iat!;
    const maxLifetime = (pending ? PENDING_TOKEN_MAX_TTL_MS : deps.config.accessTokenTtlMs) / 1000;
    if (iat > now / 1000 + leeway || payload.exp! - iat > maxLifetime + leeway) return invalid;
    return {
      token: {
        userId: payload.sub,
        sessionId: payload.sid,
        pending,
        amr: Array.isArray(payload.amr) ? payload.amr.filter((m): m is string => typeof m === 'string') : [],
        expiresAt: payload.exp! * 1000,
        kid,
      },
    };
  } catch (error) {
    // jose checks the signature before the claims: only a genuine token is reported expired.
    return error instanceof errors.JWTExpired ? { refused: 'token_expired' } : invalid;
  }
}

function isCanonicalCompact(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((part) => Buffer.from(part, 'base64url').toString('base64url') === part);
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
