import { useJWT, createRemoteJwksSigningKeyProvider } from '@graphql-mesh/plugin-jwt-auth';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { allowInsecureRequests, discovery } from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printedSubgraphSchema } from '../src/scripts/print-schema.js';
import { backends, createShared, createTestApp, type TestApp } from './support/app.js';
import { expectCode, expectOk, logout, PASSWORD, signIn, signUp } from './support/actions.js';
import { composeSupergraph, createGateway, freePort, startOrders, useJoseJwt, type Gateway, type Orders } from './support/gateway.js';

const ADMIN_EMAIL = 'fed-admin@example.com';
const ADMIN_PASSWORD = 'federated gateway admin passphrase';

/** Re-signs a real token's claims (changed by `claims`) with `key` under its own header. */
async function resign(token: string, key: CryptoKey, claims: Record<string, unknown> = {}) {
  const header = decodeProtectedHeader(token) as { alg: string; kid: string; typ: string };
  return new SignJWT({ ...decodeJwt(token), ...claims }).setProtectedHeader(header).sign(key);
}

const entities = (id: string) => `{ _entities(representations: [{ __typename: "User", id: "${id}" }]) { ... on User { id email } } }`;

describe.each(backends())('behind Hive Gateway (%s)', (backend) => {
  describe.each(['ES256', 'EdDSA'] as const)('JWT_ALG=%s', (alg) => {
    let app: TestApp;
    let orders: Orders;
    let gateway: Gateway;
    let publicUrl: string;

    beforeAll(async () => {
      const port = await freePort();
      publicUrl = `http://127.0.0.1:${port}`;
      app = await createTestApp(await createShared(backend), {
        env: { JWT_ALG: alg, FEDERATION: 'true', PUBLIC_URL: publicUrl, ADMIN_EMAIL, ADMIN_PASSWORD },
      });
      await app.app.start(port, '127.0.0.1');
      orders = await startOrders();
      const sdl = expectOk(await app.gql<{ _service: { sdl: string } }>('{ _service { sdl } }'))._service.sdl;
      const supergraph = composeSupergraph([
        { name: 'auth', url: `${publicUrl}/graphql`, sdl },
        { name: 'orders', url: orders.url, sdl: orders.sdl },
      ]);
      // Configured from our discovery document, as an operator would.
      const metadata = (await discovery(new URL(publicUrl), 'hive-gateway', undefined, undefined, { execute: [allowInsecureRequests] })).serverMetadata();
      const jwksUrl = metadata.jwks_uri!;
      const plugin =
        alg === 'ES256'
          ? useJWT({
              signingKeyProviders: [createRemoteJwksSigningKeyProvider({ jwksUri: jwksUrl })],
              tokenVerification: { issuer: metadata.issuer, audience: publicUrl, algorithms: ['ES256'] },
              reject: { missingToken: false, invalidToken: true },
            })
          : useJoseJwt({ jwksUrl, issuer: metadata.issuer, audience: publicUrl, algorithms: ['EdDSA'] });
      // The JWT plugin is typed against its own copy of the gateway logger: the same plugin shape.
      gateway = createGateway(supergraph, [plugin as never]);
    });
    afterAll(async () => {
      await gateway?.close();
      await orders?.close();
      await app?.close();
    });

    it('serves _service { sdl } as schema.subgraph.graphql prints it', async () => {
      const sdl = expectOk(await app.gql<{ _service: { sdl: string } }>('{ _service { sdl } }'))._service.sdl;
      expect(`${sdl}\n`).toBe(printedSubgraphSchema());
    });

    it("discovery validates with openid-client, its issuer is the tokens' iss, and the JWKS verifies the tokens with jose", async () => {
      const config = await discovery(new URL(publicUrl), 'hive-gateway', undefined, undefined, { execute: [allowInsecureRequests] });
      const metadata = config.serverMetadata();
      expect(metadata).toMatchObject({
        issuer: publicUrl,
        jwks_uri: `${publicUrl}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: [alg],
        subject_types_supported: ['public'],
        response_types_supported: [],
      });
      expect(metadata.claims_supported).toEqual(expect.arrayContaining(['sub', 'sid', 'amr', 'email', 'roles', 'scope']));
      // Honest: the only URL it names is one that answers.
      expect(Object.keys(metadata).filter((k) => k.endsWith('_endpoint'))).toEqual([]);
      const [discoveryResponse, jwksResponse] = await Promise.all([fetch(`${publicUrl}/.well-known/openid-configuration`), fetch(metadata.jwks_uri!)]);
      expect(discoveryResponse.headers.get('cache-control')).toBe(jwksResponse.headers.get('cache-control'));
      expect(jwksResponse.status).toBe(200);
      const user = await signUp(app);
      const { payload } = await jwtVerify(user.accessToken, createRemoteJWKSet(new URL(metadata.jwks_uri!)), {
        issuer: metadata.issuer,
        audience: publicUrl,
        algorithms: [alg],
      });
      expect(payload.iss).toBe(metadata.issuer);
    });

    it('answers { me { id email orders { id } } } through the gateway', async () => {
      const user = await signUp(app);
      const order = orders.add(user.userId);
      const { status, body } = await gateway.query('{ me { id email orders { id } } }', user.accessToken);
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body).toEqual({ data: { me: { id: user.userId, email: user.email, orders: [{ id: order }] } } });
    });

    it('refuses a forged and an expired token at the gateway', async () => {
      const user = await signUp(app);
      const { privateKey } = await generateKeyPair(alg);
      const forged = await resign(user.accessToken, privateKey);
      const now = Math.floor(Date.now() / 1000);
      // Signed with our real key: only the expiry is wrong.
      const expired = await resign(user.accessToken, app.deps.keys.current().key, { iat: now - 960, exp: now - 60 });
      for (const token of [forged, expired]) {
        const { status, body } = await gateway.query('{ me { id } }', token);
        expect(status, JSON.stringify(body)).toBe(401);
        expect(body.data ?? null).toBeNull();
      }
    });

    it("refuses another user's entity: through the gateway and on _entities, null and FORBIDDEN, never an email", async () => {
      const alice = await signUp(app);
      const bob = await signUp(app);
      const order = orders.add(bob.userId);
      const { body } = await gateway.query(`{ order(id: "${order}") { id buyer { id email } } }`, alice.accessToken);
      expect(body.data.order.buyer).toBeNull();
      expect(JSON.stringify(body)).not.toContain(bob.email);
      const direct = await app.gql(entities(bob.userId), {}, { token: alice.accessToken });
      expect(direct.data).toEqual({ _entities: [null] });
      expectCode(direct, 'FORBIDDEN');
      expectCode(await app.gql(entities(bob.userId)), 'UNAUTHENTICATED');
      // Self, and a holder of users:read, get the entity as user(id) gives it.
      expect(expectOk(await app.gql(entities(bob.userId), {}, { token: bob.accessToken }))).toEqual({ _entities: [{ id: bob.userId, email: bob.email }] });
      const admin = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
      expect(expectOk(await app.gql(entities(bob.userId), {}, { token: admin.accessToken }))._entities[0].email).toBe(bob.email);
      const ownOrder = await gateway.query(`{ order(id: "${order}") { buyer { email } } }`, admin.accessToken);
      expect(ownOrder.body).toEqual({ data: { order: { buyer: { email: bob.email } } } });
    });

    it("refuses a logged-out session on our fields at once, while the gateway's offline check honours the token until exp", async () => {
      const user = await signUp(app);
      const order = orders.add(user.userId);
      expectOk(await logout(app, user.accessToken));
      const ours = await gateway.query('{ me { id } }', user.accessToken);
      expect(ours.status).toBe(200);
      expect(ours.body.data).toBeNull();
      expect(ours.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      // The orders subgraph trusts the gateway's check: the token still passes there until exp.
      const theirs = await gateway.query(`{ order(id: "${order}") { id } }`, user.accessToken);
      expect(theirs.body).toEqual({ data: { order: { id: order } } });
    });

    it("lets an admin's token through @requiresScopes and refuses a user's at the edge", async () => {
      const admin = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
      const allowed = await gateway.query('{ users(first: 1) { totalCount } }', admin.accessToken);
      expect(allowed.body.errors, JSON.stringify(allowed.body)).toBeUndefined();
      expect(allowed.body.data.users.totalCount).toBeGreaterThan(0);
      const user = await signUp(app, { password: PASSWORD });
      const refused = await gateway.query('{ users(first: 1) { totalCount } }', user.accessToken);
      expect(refused.body.data?.users ?? null).toBeNull();
      // The gateway's own refusal (generic-auth), not our FORBIDDEN: we were not asked.
      expect(refused.body.errors[0].extensions.code).not.toBe('FORBIDDEN');
    });
  });
});
