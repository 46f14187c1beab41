import { afterAll, beforeAll, expect } from 'vitest';
import type { TestApp } from './app.js';
import { AUTH_FIELDS, expectOk, signIn } from './actions.js';
import { createBrowser, type Browser } from './oauth-browser.js';
import { rateLimits } from './messages.js';
import { startTestIdp, type TestIdp } from './oauth-idp.js';

export const ADMIN_EMAIL = 'root@example.com';
export const ADMIN_PASSWORD = 'root admin password 42';

/** The test apps' environment: an admin, and every per-IP limit (oauth.ip too) out of the way. */
export const OAUTH_ENV = { ADMIN_EMAIL, ADMIN_PASSWORD, RATE_LIMITS: rateLimits({ 'oauth.ip': '100000/1m', 'mfa.account': '100000/1m' }) };

export const UPSERT = `mutation($input: OAuthProviderInput!) { upsertOAuthProvider(input: $input) { name displayName issuer authorizationEndpoint tokenEndpoint userinfoEndpoint clientId scopes enabled linkByEmail createdAt updatedAt } }`;
export const FINISH = `mutation($code: String!, $setCookie: Boolean) { finishOAuth(code: $code, setCookie: $setCookie) { ${AUTH_FIELDS} } }`;
export const IDENTITIES = `{ me { id email emailVerified identities { id provider subject email emailVerified createdAt lastUsedAt } } }`;
export const UNLINK = `mutation($id: ID!) { unlinkIdentity(id: $id) }`;
export const START_LINK = `mutation($p: String!, $r: String) { startOAuthLink(provider: $p, redirectTo: $r) { url } }`;

/** The callback URL registered at the test providers for a provider name. */
export const callbackFor = (name: string) => `http://gateway.test/oauth/${name}/callback`;

export async function adminToken(app: TestApp): Promise<string> {
  return (await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
}

export async function upsertProvider(app: TestApp, input: Record<string, unknown>) {
  return expectOk(await app.gql(UPSERT, { input }, { token: await adminToken(app) })).upsertOAuthProvider;
}

/** Where the browser landed after the provider: the redirectTo URL with its parameters. */
export type Landing = { url: URL; code: string | null; error: string | null; linked: string | null };

export function landingOf(url: URL): Landing {
  return { url, code: url.searchParams.get('code'), error: url.searchParams.get('error'), linked: url.searchParams.get('linked') };
}

/** A browser opens GET /oauth/:provider and follows every redirect to the front end. */
export async function runFlow(browser: Browser, provider: string, redirectTo?: string): Promise<Landing> {
  const start = new URL(`http://gateway.test/oauth/${provider}`);
  if (redirectTo) start.searchParams.set('redirectTo', redirectTo);
  return landingOf(await browser.follow(start.href));
}

export function finish(app: TestApp, code: string, setCookie?: boolean) {
  return app.gql(FINISH, { code, setCookie });
}

/** A new browser signs in with the provider: the AuthPayload of finishOAuth. */
export async function signInWith(app: TestApp, provider: string, browser: Browser = createBrowser(app)) {
  const landing = await runFlow(browser, provider);
  expect(landing.error, landing.url.href).toBeNull();
  return expectOk(await finish(app, landing.code!)).finishOAuth;
}

/**
 * Opens GET /oauth/:provider and follows the redirects through the provider up to the gateway's
 * callback, returning the callback URL (code and state) without opening it.
 */
export async function toCallback(browser: Browser, provider: string): Promise<URL> {
  let url = new URL(`http://gateway.test/oauth/${provider}`);
  for (let hop = 0; hop < 20; hop++) {
    const response = await browser.get(url.href);
    await response.body?.cancel();
    const location = response.headers.get('location');
    if (!location) throw new Error(`no redirect from ${url.origin}${url.pathname} (${response.status})`);
    url = new URL(location, url);
    if (url.hostname === 'gateway.test' && url.pathname === `/oauth/${provider}/callback`) return url;
  }
  throw new Error('too many redirects');
}

/** Opens a callback URL in a browser: where the gateway sends it. */
export async function openCallback(browser: Browser, url: URL): Promise<Landing> {
  const response = await browser.get(url.href);
  expect(response.status).toBe(302);
  return landingOf(new URL(response.headers.get('location')!));
}

/** Registers the GitHub-shaped stub as a plain OAuth 2.0 provider. */
export function githubProvider(stub: { url: string; clientId: string; clientSecret: string }, name = 'github', extra: Record<string, unknown> = {}) {
  return {
    name,
    displayName: 'GitHub',
    authorizationEndpoint: `${stub.url}/login/oauth/authorize`,
    tokenEndpoint: `${stub.url}/login/oauth/access_token`,
    userinfoEndpoint: `${stub.url}/user`,
    clientId: stub.clientId,
    clientSecret: stub.clientSecret,
    scopes: ['read:user', 'user:email'],
    ...extra,
  };
}

/** An in-process OIDC provider registered on `app` as `idp` for the enclosing describe block, closed after it. */
export function useTestIdp(app: TestApp): () => TestIdp {
  let idp: TestIdp | undefined;
  beforeAll(async () => {
    idp = await startTestIdp([callbackFor('idp')]);
    await upsertProvider(app, { name: 'idp', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret });
  });
  afterAll(() => idp?.close());
  return () => idp!;
}
