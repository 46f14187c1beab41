import { randomUUID } from 'node:crypto';
import { decodeJwt, SignJWT, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { backends, type GqlResult, type TestApp, useTestApp } from './support/app.js';
import { expectOk, login, logout, me, PASSWORD, signUp, type Tokens } from './support/actions.js';

const TTL_S = 15 * 60;

/** Signs `token`'s claims, changed by `claims`, with the app's real current key (deps.keys). */
async function resign(app: TestApp, token: string, claims: JWTPayload) {
  const { kid, key } = app.deps.keys.current();
  const payload = { ...decodeJwt(token), jti: randomUUID(), ...claims };
  return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' }).sign(key);
}

/** The UNAUTHENTICATED answer of `me`: its reason (undefined when none) and the challenge header. */
function refusal(result: GqlResult) {
  expect(
    result.errors?.map((e) => e.extensions.code),
    JSON.stringify(result.errors),
  ).toEqual(['UNAUTHENTICATED']);
  return { reason: result.errors![0]!.extensions.reason, challenge: result.headers.get('www-authenticate') };
}

/** The same signature with another last character that decodes to the same 64 bytes. */
function respellSignature(token: string): string {
  const signature = token.slice(token.lastIndexOf('.') + 1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  // 86 characters carry 516 bits for 512: the last character's low 4 bits are padding.
  const last = alphabet.indexOf(signature.at(-1)!);
  const variant = signature.slice(0, -1) + alphabet[last ^ 1];
  expect(Buffer.from(variant, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
  return token.slice(0, token.lastIndexOf('.') + 1) + variant;
}

describe.each(backends())('access token bounds (%s)', (backend) => {
  const app = useTestApp(backend);
  let user: Tokens;
  let now: number;
  beforeAll(async () => {
    user = await signUp(app);
    now = Math.floor(app.clock.now() / 1000);
  });

  it('accepts a re-signed copy, and iat up to the leeway ahead (so each refusal below is down to one change)', async () => {
    expect(expectOk(await me(app, await resign(app, user.accessToken, {}))).me.id).toBe(user.userId);
    const ahead = await resign(app, user.accessToken, { iat: now + 5, exp: now + 5 + TTL_S });
    expect(expectOk(await me(app, ahead)).me.id).toBe(user.userId);
  });

  it('regression: refuses a token whose iat is a day in the future', async () => {
    const token = await resign(app, user.accessToken, { iat: now + 86_400, exp: now + 86_400 + TTL_S });
    expect(refusal(await me(app, token)).reason).toBe('invalid_token');
  });

  it('regression: refuses iat just past the leeway ahead', async () => {
    const token = await resign(app, user.accessToken, { iat: now + 7, exp: now + 7 + TTL_S });
    expect(refusal(await me(app, token)).reason).toBe('invalid_token');
  });

  it('regression: refuses a lifetime beyond ACCESS_TOKEN_TTL plus the leeway (a year, or TTL + 6 s)', async () => {
    for (const exp of [now + 365 * 86_400, now + TTL_S + 6]) {
      const token = await resign(app, user.accessToken, { iat: now, exp });
      expect(refusal(await me(app, token)).reason).toBe('invalid_token');
    }
    const longest = await resign(app, user.accessToken, { iat: now, exp: now + TTL_S + 5 });
    expect(expectOk(await me(app, longest)).me.id).toBe(user.userId);
  });

  it('regression: refuses a non-canonical base64url signature, before and after the real one was cached', async () => {
    const token = await resign(app, user.accessToken, {});
    const variant = respellSignature(token);
    expect(refusal(await me(app, variant)).reason).toBe('invalid_token');
    expect(expectOk(await me(app, token)).me.id).toBe(user.userId);
    expect(refusal(await me(app, variant)).reason).toBe('invalid_token');
  });
});

describe.each(backends())('expiry leeway and bearer refusals (%s)', (backend) => {
  const app = useTestApp(backend);

  it('accepts a token up to ACCESS_TOKEN_LEEWAY (5 s) past exp, then answers token_expired with the RFC 6750 challenge', async () => {
    const user = await signUp(app);
    expect(expectOk(await me(app, user.accessToken)).me.id).toBe(user.userId);
    app.clock.advance(TTL_S * 1000 + 4_000);
    expect(expectOk(await me(app, user.accessToken)).me.id).toBe(user.userId);
    app.clock.advance(2_000);
    expect(refusal(await me(app, user.accessToken))).toEqual({
      reason: 'token_expired',
      challenge: 'Bearer error="invalid_token", error_description="The access token expired"',
    });
  });

  it('regression: tells an invalid bearer token (garbage, malformed, logged out) apart from a missing one', async () => {
    const user = await signUp(app);
    await logout(app, user.accessToken);
    const challenge = 'Bearer error="invalid_token"';
    expect(refusal(await me(app, user.accessToken))).toEqual({ reason: 'invalid_token', challenge });
    expect(refusal(await me(app, 'not-a-jwt'))).toEqual({ reason: 'invalid_token', challenge });
    const malformed = await app.gql('{ me { id } }', {}, { headers: { authorization: 'Bearer two words' } });
    expect(refusal(malformed)).toEqual({ reason: 'invalid_token', challenge });
    const missing = await app.gql('{ me { id } }');
    expect(refusal(missing)).toEqual({ reason: undefined, challenge: null });
    expect(missing.errors![0]!.message).toBe('Authentication required');
    const basic = await app.gql('{ me { id } }', {}, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(refusal(basic)).toEqual({ reason: undefined, challenge: null });
  });

  it('does not challenge a public operation sent with a stale bearer token', async () => {
    const user = await signUp(app);
    await logout(app, user.accessToken);
    const result = await login(app, user.email, PASSWORD, { authorization: `Bearer ${user.accessToken}` });
    expect(expectOk(result).login.accessToken).toEqual(expect.any(String));
    expect(result.headers.get('www-authenticate')).toBeNull();
  });
});

describe.each(backends())('ACCESS_TOKEN_LEEWAY=0 (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ACCESS_TOKEN_LEEWAY: '0s' } });

  it('refuses a token at its exp, and iat one second ahead', async () => {
    const user = await signUp(app);
    const now = Math.floor(app.clock.now() / 1000);
    const ahead = await resign(app, user.accessToken, { iat: now + 1, exp: now + 1 + TTL_S });
    expect(refusal(await me(app, ahead)).reason).toBe('invalid_token');
    const exp = decodeJwt(user.accessToken).exp! * 1000;
    app.clock.advance(exp - app.clock.now());
    expect(refusal(await me(app, user.accessToken)).reason).toBe('token_expired');
  });
});

describe('ACCESS_TOKEN_LEEWAY configuration', () => {
  it('defaults to 5 s, takes 0 s to 60 s and refuses more', () => {
    expect(loadConfig({}).accessTokenLeewayMs).toBe(5_000);
    expect(loadConfig({ ACCESS_TOKEN_LEEWAY: '0s' }).accessTokenLeewayMs).toBe(0);
    expect(loadConfig({ ACCESS_TOKEN_LEEWAY: '60s' }).accessTokenLeewayMs).toBe(60_000);
    expect(() => loadConfig({ ACCESS_TOKEN_LEEWAY: '61s' })).toThrow(ConfigError);
    expect(() => loadConfig({ ACCESS_TOKEN_LEEWAY: 'soon' })).toThrow(/ACCESS_TOKEN_LEEWAY/);
  });
});
