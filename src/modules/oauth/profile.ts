import * as oidc from 'openid-client';
import type { Deps } from '../../deps.js';
import { atProvider, providerConfiguration } from './client.js';
import { OAuthFlowError } from './errors.js';
import type { OAuthProviderRow } from './tables.js';
import { callbackUrl } from './urls.js';

/** Who the provider says the user is, after every check passed. */
export type ProviderProfile = { subject: string; email: string | null; emailVerified: boolean; name: string | null };

/** What the start of a flow stored, that its callback checks against. */
export type ExchangeChecks = { state: string; nonce: string | null; verifier: string };

const text = (v: unknown, max: number): string | null => (typeof v === 'string' && v.trim() ? v.trim().slice(0, max) : null);

/**
 * Exchanges the authorization code (PKCE verifier, state, and for OIDC the nonce, issuer,
 * audience and id_token signature: all openid-client's own checks), then reads the profile.
 * The redirect_uri sent is PUBLIC_URL's, whatever host the request reached us on.
 */
export async function exchangeCode(
  deps: Pick<Deps, 'config' | 'db' | 'oauthKey'>,
  row: OAuthProviderRow,
  query: URLSearchParams,
  checks: ExchangeChecks,
): Promise<ProviderProfile> {
  const config = await atProvider(deps, row.name, () => providerConfiguration(deps, row));
  const redirectUri = callbackUrl(deps.config, row.name);
  const current = new URL(`${redirectUri}?${query}`);
  const isOidc = !!row.issuer;
  const tokens = await atProvider(deps, row.name, () =>
    oidc.authorizationCodeGrant(
      config,
      current,
      {
        pkceCodeVerifier: checks.verifier,
        expectedState: checks.state,
        ...(isOidc ? { expectedNonce: checks.nonce ?? undefined, idTokenExpected: true } : {}),
      },
      { redirect_uri: redirectUri },
    ),
  );
  if (isOidc) return atProvider(deps, row.name, () => oidcProfile(config, tokens));
  return atProvider(deps, row.name, () => plainProfile(config, row, tokens.access_token));
}

/** OIDC: the verified id_token's claims, completed from userinfo when it lacks the email. */
async function oidcProfile(config: oidc.Configuration, tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): Promise<ProviderProfile> {
  const claims = tokens.claims();
  if (!claims?.sub) throw new OAuthFlowError('INVALID_CREDENTIALS', 'id_token:sub');
  let source: Record<string, unknown> = claims;
  if (!claims.email && config.serverMetadata().userinfo_endpoint)
    source = { ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)), ...claims };
  return {
    subject: claims.sub,
    email: text(source.email, 320),
    // Only an explicit true counts (OIDC Core §5.1): Entra and others that omit it are unverified.
    emailVerified: source.email_verified === true,
    name: text(source.name, 200),
  };
}

/**
 * Plain OAuth 2.0: the userinfo endpoint's JSON (`id` or `sub`). When it does not say whether
 * the email is verified (GitHub's `/user` does not), `<userinfo>/emails` is asked, GitHub's shape:
 * `[{ email, primary, verified }]`; the primary verified address wins, else any verified one.
 */
async function plainProfile(config: oidc.Configuration, row: OAuthProviderRow, accessToken: string): Promise<ProviderProfile> {
  if (!row.userinfoEndpoint) throw new OAuthFlowError('INVALID_CREDENTIALS', 'no_userinfo_endpoint');
  const user = (await getJson(config, accessToken, row.userinfoEndpoint)) as Record<string, unknown> | null;
  const id = user?.id ?? user?.sub;
  if (!user || (typeof id !== 'string' && typeof id !== 'number') || String(id) === '') throw new OAuthFlowError('INVALID_CREDENTIALS', 'userinfo:id');
  const name = text(user.name, 200) ?? text(user.login, 200);
  if (typeof user.email_verified === 'boolean') {
    return { subject: String(id), email: text(user.email, 320), emailVerified: user.email_verified === true && !!text(user.email, 320), name };
  }
  const emails = await getJson(config, accessToken, `${row.userinfoEndpoint.replace(/\/$/, '')}/emails`).catch(() => null);
  const list = Array.isArray(emails) ? (emails as Array<Record<string, unknown>>).filter((e) => text(e?.email, 320)) : [];
  const chosen = list.find((e) => e.primary === true && e.verified === true) ?? list.find((e) => e.verified === true);
  if (chosen) return { subject: String(id), email: text(chosen.email, 320), emailVerified: true, name };
  const unverified = text(list.find((e) => e.primary === true)?.email, 320) ?? text(user.email, 320);
  return { subject: String(id), email: unverified, emailVerified: false, name };
}

async function getJson(config: oidc.Configuration, accessToken: string, url: string): Promise<unknown> {
  const headers = new Headers({ accept: 'application/json' });
  const response = await oidc.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, headers);
  if (!response.ok) throw new OAuthFlowError('INVALID_CREDENTIALS', `userinfo:${response.status}`);
  return response.json();
}
