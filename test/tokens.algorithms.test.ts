import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLISH_AHEAD_MS } from '../src/modules/tokens/keys.js';
import { backends, createShared, createTestApp, createTestClock, type Shared, type TestApp, useTestApp } from './support/app.js';
import { expectCode, expectOk, me, signIn, signUp } from './support/actions.js';

const ISSUER = 'http://gateway.test';
const ACCESS_TTL_MS = 15 * 60_000;

async function jwksOf(app: TestApp): Promise<JSONWebKeySet> {
  return (await (await app.fetch('/.well-known/jwks.json')).json()) as JSONWebKeySet;
}

const headerOf = (token: string) => decodeProtectedHeader(token) as { alg: string; kid: string };

/** The JWK shape of each algorithm (RFC 7518 §6), as published. */
const SHAPES = {
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  ES256: { kty: 'EC', crv: 'P-256' },
  RS256: { kty: 'RSA', e: 'AQAB' },
} as const;

/** Re-signs a real token's claims with `key` under `header` (the kid stays the real one unless given). */
async function resign(token: string, key: CryptoKey, header: { alg: string; kid?: string }) {
  return new SignJWT(decodeJwt(token)).setProtectedHeader({ kid: headerOf(token).kid, typ: 'at+jwt', ...header }).sign(key);
}

describe.each(backends())('JWT_ALG (%s)', (backend) => {
  describe.each(['ES256', 'RS256'] as const)('%s', (alg) => {
    const app = useTestApp(backend, { env: { JWT_ALG: alg } });

    it(`signs access tokens with ${alg} and publishes the key with kid, alg and use`, async () => {
      const user = await signUp(app);
      const header = headerOf(user.accessToken);
      expect(header.alg).toBe(alg);
      const jwks = await jwksOf(app);
      expect(jwks.keys.length).toBeGreaterThan(0);
      for (const key of jwks.keys) {
        expect(key).toMatchObject({ ...SHAPES[alg], alg, use: 'sig', kid: expect.any(String) });
        for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
      }
      const { payload } = await jwtVerify(user.accessToken, createLocalJWKSet(jwks), {
        issuer: ISSUER,
        audience: ISSUER,
        algorithms: [alg],
        currentDate: new Date(app.clock.now()),
      });
      expect(payload.sub).toBe(user.userId);
      expect(expectOk(await me(app, user.accessToken)).me.id).toBe(user.userId);
    });

    it('refuses a token whose header names another alg than its key has (no alg confusion)', async () => {
      const user = await signUp(app);
      const other = alg === 'ES256' ? 'RS256' : 'ES256';
      const { privateKey } = await generateKeyPair(other);
      expectCode(await me(app, await resign(user.accessToken, privateKey, { alg: other })), 'UNAUTHENTICATED');
      const ed = await generateKeyPair('EdDSA');
      expectCode(await me(app, await resign(user.accessToken, ed.privateKey, { alg: 'EdDSA' })), 'UNAUTHENTICATED');
      // And one of the right alg but another key, under the real kid.
      const same = await generateKeyPair(alg);
      expectCode(await me(app, await resign(user.accessToken, same.privateKey, { alg })), 'UNAUTHENTICATED');
    });

    it(`keys:rotate makes a new ${alg} key, published before it signs`, async () => {
      const user = await signUp(app);
      const oldKid = headerOf(user.accessToken).kid;
      await app.deps.keys.rotate();
      const added = (await jwksOf(app)).keys.find((k) => k.kid !== oldKid);
      expect(added).toMatchObject({ ...SHAPES[alg], alg, use: 'sig' });
      app.clock.advance(PUBLISH_AHEAD_MS + 1000);
      const fresh = await signIn(app, user.email);
      expect(headerOf(fresh.accessToken)).toMatchObject({ alg, kid: added!.kid });
      expect(expectOk(await me(app, user.accessToken)).me.id).toBe(user.userId);
      expect(expectOk(await me(app, fresh.accessToken)).me.id).toBe(user.userId);
    });
  });
});

describe.each(backends())('changing JWT_ALG (%s)', (backend) => {
  let first: TestApp;
  let second: TestApp;
  let shared: Shared;
  const clock = createTestClock();
  beforeAll(async () => {
    shared = await createShared(backend);
    first = await createTestApp(shared, { clock });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('rotates to a key of the new algorithm at start, and tokens of the old key stay valid until they expire', async () => {
    const user = await signUp(first);
    const old = headerOf(user.accessToken);
    expect(old.alg).toBe('EdDSA');
    // The next instance of the deployment starts with JWT_ALG=ES256 (same database and store).
    second = await createTestApp(shared, { clock, peer: backend === 'embedded' ? first : undefined, env: { JWT_ALG: 'ES256' } });
    const keys = (await jwksOf(second)).keys;
    const added = keys.find((k) => k.alg === 'ES256');
    expect(added).toMatchObject({ ...SHAPES.ES256, use: 'sig' });
    expect(keys.map((k) => k.kid)).toContain(old.kid);
    expect(expectOk(await me(second, user.accessToken)).me.id).toBe(user.userId);
    const discovery = (await (await second.fetch('/.well-known/openid-configuration')).json()) as { id_token_signing_alg_values_supported: string[] };
    expect(discovery.id_token_signing_alg_values_supported.sort()).toEqual(['ES256', 'EdDSA']);

    clock.advance(PUBLISH_AHEAD_MS + 1000);
    const fresh = await signIn(second, user.email);
    expect(headerOf(fresh.accessToken)).toEqual(expect.objectContaining({ alg: 'ES256', kid: added!.kid }));
    // Both instances sign with the new key and verify both (the first one still has JWT_ALG=EdDSA).
    expect(headerOf((await signIn(first, user.email)).accessToken).kid).toBe(added!.kid);
    expect(expectOk(await me(first, fresh.accessToken)).me.id).toBe(user.userId);
    expect(expectOk(await me(second, user.accessToken)).me.id).toBe(user.userId);

    // Past the old key's last token, it leaves the JWKS.
    clock.advance(ACCESS_TTL_MS + 2 * 60_000);
    await second.deps.keys.reload();
    expect((await jwksOf(second)).keys.map((k) => k.kid)).not.toContain(old.kid);
  });
});
