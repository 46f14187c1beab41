import * as oidc from 'openid-client';
import type { Deps } from '../../deps.js';
import { decrypt } from '../../shared/crypto.js';
import { OAuthFlowError } from './errors.js';
import type { OAuthProviderRow } from './tables.js';
import { isLoopbackHost } from './urls.js';

/** How long a request to a provider may take (discovery, token, userinfo), in seconds. */
const PROVIDER_TIMEOUT_S = 10;

type ClientDeps = Pick<Deps, 'db' | 'oauthKey'>;

/**
 * Discovered configurations, per app (keyed by its database handle) and per provider version
 * (`updatedAt`), so an upsert on any instance is seen at the next flow. An entry is dropped when
 * a request to the provider fails, so a rotated discovery document is fetched again.
 */
const caches = new WeakMap<object, Map<string, { version: number; config: Promise<oidc.Configuration> }>>();

function cacheOf(deps: ClientDeps) {
  let cache = caches.get(deps.db);
  if (!cache) caches.set(deps.db, (cache = new Map()));
  return cache;
}

/** The client secret in clear, for the token request only (never returned, never logged). */
function clientSecretOf(deps: ClientDeps, row: Pick<OAuthProviderRow, 'clientSecretEnc'>): string | undefined {
  return row.clientSecretEnc ? decrypt(deps.oauthKey, row.clientSecretEnc) : undefined;
}

/**
 * http is allowed only towards loopback hosts (development, tests): openid-client refuses it
 * otherwise, and upsertOAuthProvider refuses such URLs before they get here (ASVS 5.0 V12.1.1).
 */
function insecureAllowed(...urls: Array<string | null | undefined>): boolean {
  return urls.every((u) => !u || isLoopbackHost(new URL(u).hostname));
}

/**
 * An OIDC provider's configuration from its issuer's discovery document, with id_token
 * signatures checked against its JWKS (openid-client skips that by default for a token endpoint
 * reached over TLS; we check it anyway: OIDC Core §3.1.3.7 allows it and it costs one cached fetch).
 */
export async function discoverIssuer(issuer: string, clientId: string, clientSecret: string | undefined): Promise<oidc.Configuration> {
  const execute = [oidc.enableNonRepudiationChecks, ...(insecureAllowed(issuer) ? [oidc.allowInsecureRequests] : [])];
  const auth = clientSecret ? oidc.ClientSecretPost(clientSecret) : oidc.None();
  return oidc.discovery(new URL(issuer), clientId, undefined, auth, { execute, timeout: PROVIDER_TIMEOUT_S });
}

/** A plain OAuth 2.0 provider (GitHub): explicit endpoints, no id_token. */
function plainConfiguration(row: OAuthProviderRow, clientSecret: string | undefined): oidc.Configuration {
  const server = {
    // No issuer exists; the authorization endpoint's origin stands in (RFC 9207 `iss` is not sent by these providers).
    issuer: new URL(row.authorizationEndpoint!).origin,
    authorization_endpoint: row.authorizationEndpoint!,
    token_endpoint: row.tokenEndpoint!,
    ...(row.userinfoEndpoint ? { userinfo_endpoint: row.userinfoEndpoint } : {}),
  };
  const config = new oidc.Configuration(server, row.clientId, undefined, clientSecret ? oidc.ClientSecretPost(clientSecret) : oidc.None());
  config.timeout = PROVIDER_TIMEOUT_S;
  if (insecureAllowed(row.authorizationEndpoint, row.tokenEndpoint, row.userinfoEndpoint)) oidc.allowInsecureRequests(config);
  return config;
}

/** The provider's configuration, discovered once per version and cached. */
export function providerConfiguration(deps: ClientDeps, row: OAuthProviderRow): Promise<oidc.Configuration> {
  const cache = cacheOf(deps);
  const version = row.updatedAt.getTime();
  const hit = cache.get(row.name);
  if (hit && hit.version === version) return hit.config;
  const secret = clientSecretOf(deps, row);
  const config = row.issuer ? discoverIssuer(row.issuer, row.clientId, secret) : Promise.resolve(plainConfiguration(row, secret));
  cache.set(row.name, { version, config });
  config.catch(() => forgetConfiguration(deps, row.name));
  return config;
}

/** Drops a cached configuration (after a failed request, or a change of the provider). */
export function forgetConfiguration(deps: ClientDeps, name: string): void {
  cacheOf(deps).delete(name);
}

/** Keeps a configuration just discovered at upsert, so the first flow does not discover again. */
export function primeConfiguration(deps: ClientDeps, row: OAuthProviderRow, config: oidc.Configuration): void {
  cacheOf(deps).set(row.name, { version: row.updatedAt.getTime(), config: Promise.resolve(config) });
}

/**
 * A short, secret-free reason for a failed exchange or check, for the audit row: the library's
 * error code and, for a claim comparison, the claim (`OAUTH_JWT_CLAIM_COMPARISON_FAILED:nonce`),
 * `:signature` for a bad signature, or the provider's OAuth error (`provider:invalid_grant`). Never the message's values or any token.
 */
export function describeFailure(error: unknown): string {
  const clean = (v: unknown) => (typeof v === 'string' ? v.replace(/[^A-Za-z0-9_.:-]/g, '').slice(0, 48) : '');
  type Link = { code?: unknown; error?: unknown; claim?: unknown; attribute?: unknown; signature?: unknown; cause?: unknown };
  const chain: Link[] = [];
  for (let e = error as Link | undefined, depth = 0; e && typeof e === 'object' && depth < 5; e = e.cause as Link | undefined, depth++) chain.push(e);
  const oauthError = chain.find((e) => typeof e.error === 'string');
  if (oauthError) return clean(`provider:${oauthError.error}`);
  const codes = [...new Set(chain.map((e) => clean(e.code)).filter(Boolean))];
  const detail = chain.map((e) => clean(e.claim) || clean(e.attribute) || (e.signature ? 'signature' : '')).find(Boolean);
  return [codes[0] ?? 'unknown', detail ?? codes.at(-1)].filter((v, i, all) => v && all.indexOf(v) === i).join(':');
}

/** A network failure or timeout, as opposed to a refusal: worth a fresh discovery next time. */
function isUnreachable(error: unknown): boolean {
  const e = error as { code?: unknown; cause?: { name?: unknown } } | null;
  return e?.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || e?.cause?.name === 'TimeoutError' || (error instanceof TypeError && /fetch/i.test(error.message));
}

/** Runs a request to the provider; a failure becomes INVALID_CREDENTIALS with its reason. */
export async function atProvider<T>(deps: ClientDeps, name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof OAuthFlowError) throw error;
    if (isUnreachable(error)) forgetConfiguration(deps, name);
    throw new OAuthFlowError('INVALID_CREDENTIALS', describeFailure(error));
  }
}
