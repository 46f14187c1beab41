import { randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportSPKI,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { PUBLISH_AHEAD_MS } from '../src/modules/tokens/keys.js';
import { backends, useInstances, type TestApp, useTestApp } from './support/app.js';
import { expectCode, expectOk, me, signIn, signUp } from './support/actions.js';

const ISSUER = 'http://gateway.test';
const ACCESS_TTL_MS = 15 * 60_000;

async function jwksOf(app: TestApp): Promise<JSONWebKeySet> {
  const response = await app.fetch('/.well-known/jwks.json');
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('application/json');
  return (await response.json()) as JSONWebKeySet;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const kidsOf = (jwks: JSONWebKeySet) => jwks.keys.map((k) => k.kid);
const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/**
 * Re-signs a real token's claims with `key` after applying changes, so a test alters exactly
 * one property of an otherwise valid token. `null` in `claims` drops that claim.
 */
async function resign(token: string, key: CryptoKey | Uint8Array, options: { header?: Record<string, unknown>; claims?: Record<string, unknown> } = {}) {
  const payload: JWTPayload = { ...decodeJwt(token), jti: randomUUID() };
  for (const [name, value] of Object.entries(options.claims ?? {})) {
    if (value === null) delete payload[name];
    else payload[name] = value;
  }
  const header = { alg: 'EdDSA', kid: kidOf(token), typ: 'at+jwt', ...options.header };
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key);
}

describe.each(backends())('signing keys and the JWKS (%s)', (backend) => {
  const app = useTestApp(backend);

  it("publishes the access token's key as a public Ed25519 JWK", async () => {
    const user = await signUp(app);
    const jwks = await jwksOf(app);
    const header = decodeProtectedHeader(user.accessToken);
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(typeof jwk!.x).toBe('string');
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
  });

  it('issues access tokens that verify offline against the JWKS with every claim a gateway needs', async () => {
    const user = await signUp(app);
    const jwks = createLocalJWKSet(await jwksOf(app));
    const { payload, protectedHeader } = await jwtVerify(user.accessToken, jwks, {
      issuer: ISSUER,
      audience: ISSUER,
      algorithms: ['EdDSA'],
      currentDate: new Date(app.clock.now()),
    });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: kidOf(user.accessToken) });
    expect(payload).toMatchObject({
      sub: user.userId,
      sid: user.refreshToken.split('.')[0],
      amr: ['pwd'],
      email: user.email,
      email_verified: false,
      roles: ['user'],
      scope: '',
    });
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.iat).toBeLessThanOrEqual(Math.ceil(app.clock.now() / 1000));
    expect(payload.exp! - payload.iat!).toBe(ACCESS_TTL_MS / 1000);
  });

  describe('refuses forged tokens on me', () => {
    let user: Awaited<ReturnType<typeof signUp>>;
    let ownKey: CryptoKey;
    beforeAll(async () => {
      user = await signUp(app);
      ownKey = app.deps.keys.current().key;
    });

    it('accepts a re-signed copy with the real key (so each refusal below is down to one change)', async () => {
      const token = await resign(user.accessToken, ownKey);
      expect(expectOk(await me(app, token)).me.id).toBe(user.userId);
    });

    it('alg none', async () => {
      const [, payload] = user.accessToken.split('.');
      const token = `${b64url({ alg: 'none', kid: kidOf(user.accessToken), typ: 'at+jwt' })}.${payload}.`;
      expectCode(await me(app, token), 'UNAUTHENTICATED');
    });

    it('HS256 signed with the public key as the HMAC secret', async () => {
      const jwk = (await jwksOf(app)).keys.find((k) => k.kid === kidOf(user.accessToken))!;
      const spki = await exportSPKI((await importJWK(jwk, 'EdDSA')) as CryptoKey);
      for (const secret of [Buffer.from(jwk.x!, 'base64url'), new TextEncoder().encode(spki), new TextEncoder().encode(JSON.stringify(jwk))]) {
        const token = await resign(user.accessToken, new Uint8Array(secret), { header: { alg: 'HS256' } });
        expectCode(await me(app, token), 'UNAUTHENTICATED');
      }
    });

    it('signed by another Ed25519 key, under an unknown kid or under the real kid', async () => {
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      expectCode(await me(app, await resign(user.accessToken, privateKey, { header: { kid: 'attacker-key' } })), 'UNAUTHENTICATED');
      expectCode(await me(app, await resign(user.accessToken, privateKey)), 'UNAUTHENTICATED');
    });

    it('wrong issuer', async () => {
      expectCode(await me(app, await resign(user.accessToken, ownKey, { claims: { iss: 'http://evil.test' } })), 'UNAUTHENTICATED');
    });

    it('wrong audience', async () => {
      expectCode(await me(app, await resign(user.accessToken, ownKey, { claims: { aud: 'http://evil.test' } })), 'UNAUTHENTICATED');
    });

    it('expired', async () => {
      const now = Math.floor(app.clock.now() / 1000);
      const token = await resign(user.accessToken, ownKey, { claims: { iat: now - 960, exp: now - 60 } });
      expectCode(await me(app, token), 'UNAUTHENTICATED');
    });

    it('missing sid', async () => {
      expectCode(await me(app, await resign(user.accessToken, ownKey, { claims: { sid: null } })), 'UNAUTHENTICATED');
    });

    it('another token type than at+jwt', async () => {
      expectCode(await me(app, await resign(user.accessToken, ownKey, { header: { typ: 'JWT' } })), 'UNAUTHENTICATED');
    });
  });
});

describe.each(backends())('signing key rotation (%s)', (backend) => {
  const app = useTestApp(backend);

  it('publishes a new key before signing with it, keeps the old one while its tokens live, then drops it', async () => {
    const user = await signUp(app);
    const oldKid = kidOf(user.accessToken);
    const oldKey = app.deps.keys.current().key;
    await app.deps.keys.rotate();
    // Published at once, but not signing yet: verifiers with a cached JWKS must learn it first.
    const published = kidsOf(await jwksOf(app));
    const newKid = published.find((kid) => kid !== oldKid)!;
    expect(published).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(kidOf((await signIn(app, user.email)).accessToken)).toBe(oldKid);
    app.clock.advance(PUBLISH_AHEAD_MS + 1000);
    const fresh = await signIn(app, user.email);
    expect(kidOf(fresh.accessToken)).toBe(newKid);
    expect(expectOk(await me(app, user.accessToken)).me.id).toBe(user.userId);
    expect(expectOk(await me(app, fresh.accessToken)).me.id).toBe(user.userId);
    const jwks = await jwksOf(app);
    expect(kidsOf(jwks)).toEqual(expect.arrayContaining([oldKid, newKid]));
    // A gateway with the new JWKS still verifies tokens signed before the rotation.
    await jwtVerify(user.accessToken, createLocalJWKSet(jwks), {
      issuer: ISSUER,
      audience: ISSUER,
      algorithms: ['EdDSA'],
      currentDate: new Date(app.clock.now()),
    });

    app.clock.advance(ACCESS_TTL_MS + 2 * 60_000 + 1000);
    await app.deps.keys.reload();
    const later = kidsOf(await jwksOf(app));
    expect(later).not.toContain(oldKid);
    expect(later).toContain(newKid);
    // Unpublished means unusable: a fresh token signed with the retired key is refused.
    const now = Math.floor(app.clock.now() / 1000);
    const retired = await resign(user.accessToken, oldKey, { claims: { iat: now, exp: now + 600 } });
    expectCode(await me(app, retired), 'UNAUTHENTICATED');
    const current = await signIn(app, user.email);
    expect(expectOk(await me(app, current.accessToken)).me.id).toBe(user.userId);
  });
});

describe.runIf(backends().includes('real'))('signing keys across instances (real)', () => {
  let a: TestApp;
  let b: TestApp;
  useInstances((first, second) => ([a, b] = [first, second]));

  it('tells the second instance about a rotated key before the key signs', async () => {
    const user = await signUp(a);
    expect(expectOk(await me(b, user.accessToken)).me.id).toBe(user.userId);
    await a.deps.keys.rotate();
    const newKid = kidsOf(await jwksOf(a)).find((kid) => kid !== kidOf(user.accessToken))!;
    await expect.poll(async () => kidsOf(await jwksOf(b)), { timeout: 2_000 }).toContain(newKid);
    a.clock.advance(PUBLISH_AHEAD_MS + 1000);
    const fresh = await signIn(a, user.email);
    expect(kidOf(fresh.accessToken)).toBe(newKid);
    expect(expectOk(await me(b, fresh.accessToken)).me.id).toBe(user.userId);
  });

  it('reloads on an unknown kid when it missed the news', async () => {
    const user = await signUp(a);
    // As if b's subscription had dropped the message: a rotates and b hears nothing.
    const publish = a.deps.store.pubsub.publish;
    a.deps.store.pubsub.publish = async () => {};
    try {
      await a.deps.keys.rotate();
    } finally {
      a.deps.store.pubsub.publish = publish;
    }
    a.clock.advance(PUBLISH_AHEAD_MS + 1000);
    const fresh = await signIn(a, user.email);
    expect(kidOf(fresh.accessToken)).not.toBe(kidOf(user.accessToken));
    b.clock.advance(1_100); // past the monotonic reload throttle (a and b share the clock)
    expect(expectOk(await me(b, fresh.accessToken)).me.id).toBe(user.userId);
  });
});
