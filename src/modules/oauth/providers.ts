import type { Deps } from '../../deps.js';
import { encrypt } from '../../shared/crypto.js';
import { BadInputError, NotFoundError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { checkPlainText } from '../users/validation.js';
import { describeFailure, discoverIssuer, forgetConfiguration, primeConfiguration } from './client.js';
import { deleteProviderRow, findProvider, saveProvider } from './queries.js';
import type { OAuthProviderRow } from './tables.js';
import { checkProviderUrl } from './urls.js';

export type OAuthProviderInput = {
  name: string;
  displayName?: string | null;
  issuer?: string | null;
  authorizationEndpoint?: string | null;
  tokenEndpoint?: string | null;
  userinfoEndpoint?: string | null;
  clientId: string;
  clientSecret?: string | null;
  scopes?: string[] | null;
  enabled?: boolean | null;
  linkByEmail?: boolean | null;
};

type ProviderDeps = Pick<Deps, 'db' | 'clock' | 'random' | 'oauthKey'>;

/** `callback` is the gateway's own page at /oauth/callback, so no provider may take that name. */
const NAME = /^(?!callback$)[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
/** RFC 6749 §3.3 scope-token. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const OIDC_SCOPES = ['openid', 'email', 'profile'];

function checkText(value: string | null | undefined, field: string, max: number): string | null {
  const v = value?.trim() ?? '';
  if (!v) return null;
  if (v.length > max) throw new BadInputError(`${field} is too long`, field);
  return checkPlainText(v, field);
}

function checkScopes(scopes: string[], oidc: boolean): string[] {
  if (scopes.length > 30 || !scopes.every((s) => SCOPE.test(s))) throw new BadInputError('scopes must be at most 30 OAuth scope tokens', 'scopes');
  // An OIDC request without `openid` is plain OAuth: no id_token, none of its checks.
  return [...new Set(oidc ? ['openid', ...scopes] : scopes)];
}

/**
 * Creates or updates a provider by name. OIDC (issuer): discovered now, BAD_USER_INPUT when that
 * fails, and its endpoints stored for display. Plain OAuth 2.0: the three endpoints. URLs are
 * https, http only for loopback hosts. The client secret is stored encrypted, write-only; omitted
 * on update it stays. Other omitted fields keep their value (or default on create).
 */
export async function upsertOAuthProvider(deps: ProviderDeps, actorId: string, input: OAuthProviderInput, meta: RequestMeta): Promise<OAuthProviderRow> {
  const name = input.name.trim().toLowerCase();
  if (!NAME.test(name)) throw new BadInputError('name must be 1 to 40 of a-z, 0-9 and -, not "callback"', 'name');
  const clientId = checkText(input.clientId, 'clientId', 512);
  if (!clientId) throw new BadInputError('clientId is required', 'clientId');
  const issuer = input.issuer?.trim() ? checkProviderUrl(input.issuer, 'issuer') : null;
  const endpoints = {
    authorizationEndpoint: input.authorizationEndpoint?.trim() ? checkProviderUrl(input.authorizationEndpoint, 'authorizationEndpoint') : null,
    tokenEndpoint: input.tokenEndpoint?.trim() ? checkProviderUrl(input.tokenEndpoint, 'tokenEndpoint') : null,
    userinfoEndpoint: input.userinfoEndpoint?.trim() ? checkProviderUrl(input.userinfoEndpoint, 'userinfoEndpoint') : null,
  };
  if (issuer && (endpoints.authorizationEndpoint || endpoints.tokenEndpoint)) {
    throw new BadInputError('Give an issuer (OIDC) or the endpoints (plain OAuth 2.0), not both', 'issuer');
  }
  if (!issuer && !(endpoints.authorizationEndpoint && endpoints.tokenEndpoint && endpoints.userinfoEndpoint)) {
    throw new BadInputError('Without an issuer, authorizationEndpoint, tokenEndpoint and userinfoEndpoint are required', 'issuer');
  }
  const existing = await findProvider(deps.db, name);
  const secret = input.clientSecret != null && input.clientSecret !== '' ? checkText(input.clientSecret, 'clientSecret', 2048) : null;
  const clientSecretEnc = secret ? encrypt(deps.oauthKey, secret) : (existing?.clientSecretEnc ?? null);
  const scopes = checkScopes(input.scopes ?? existing?.scopes ?? (issuer ? OIDC_SCOPES : []), !!issuer);
  let discovered: Awaited<ReturnType<typeof discoverIssuer>> | null = null;
  if (issuer) {
    try {
      discovered = await discoverIssuer(issuer, clientId, secret ?? undefined);
    } catch (error) {
      throw new BadInputError(`The issuer's discovery document could not be used (${describeFailure(error)})`, 'issuer');
    }
    const meta = discovered.serverMetadata();
    Object.assign(endpoints, {
      authorizationEndpoint: meta.authorization_endpoint ?? null,
      tokenEndpoint: meta.token_endpoint ?? null,
      userinfoEndpoint: meta.userinfo_endpoint ?? null,
    });
  }
  const now = new Date(deps.clock.now());
  const { row } = await deps.db.transaction(async (tx) => {
    const saved = await saveProvider(tx, {
      name,
      displayName: checkText(input.displayName, 'displayName', 100) ?? existing?.displayName ?? name,
      issuer,
      ...endpoints,
      clientId,
      clientSecretEnc,
      scopes,
      enabled: input.enabled ?? existing?.enabled ?? true,
      linkByEmail: input.linkByEmail ?? existing?.linkByEmail ?? false,
      createdAt: now,
      updatedAt: now,
    });
    await recordAudit(deps, tx, {
      action: 'oauth_provider.upserted',
      actorId,
      meta,
      metadata: { name, created: saved.created, kind: issuer ? 'oidc' : 'oauth2', enabled: saved.row.enabled, linkByEmail: saved.row.linkByEmail },
    });
    return saved;
  });
  forgetConfiguration(deps, name);
  // The discovery above used the secret given now; with a kept secret the next flow discovers anew.
  if (discovered && (secret || !clientSecretEnc)) primeConfiguration(deps, row, discovered);
  return row;
}

/** Deletes a provider. Its users' identities stay, unusable, until it is added again. */
export async function deleteOAuthProvider(deps: ProviderDeps, actorId: string, name: string, meta: RequestMeta): Promise<boolean> {
  await deps.db.transaction(async (tx) => {
    if (!(await deleteProviderRow(tx, name))) throw new NotFoundError('Provider');
    await recordAudit(deps, tx, { action: 'oauth_provider.deleted', actorId, meta, metadata: { name } });
  });
  forgetConfiguration(deps, name);
  return true;
}
