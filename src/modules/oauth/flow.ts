import * as oidc from 'openid-client';
import type { Deps } from '../../deps.js';
import { sha256 } from '../../shared/crypto.js';
import { BadInputError, DomainError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { atProvider, providerConfiguration } from './client.js';
import { OAuthFlowError } from './errors.js';
import { linkToUser, resolveSignIn } from './identities.js';
import { exchangeCode } from './profile.js';
import { findProvider } from './queries.js';
import type { OAuthProviderRow } from './tables.js';
import { allowedRedirect, callbackUrl, defaultRedirectTo, withParam } from './urls.js';

/** A flow's state lives 10 minutes, once (RFC 9700 §4.7: state bound to the browser, single use). */
export const STATE_TTL_MS = 10 * 60_000;
/** The code on the redirectTo URL: 60 seconds, once. */
export const FINISH_CODE_TTL_MS = 60_000;

type FlowDeps = Pick<Deps, 'config' | 'db' | 'store' | 'clock' | 'random' | 'oauthKey'>;

/** What startOAuth stores under the state, for the callback. */
type FlowRecord = {
  provider: string;
  purpose: 'login' | 'link';
  userId: string | null;
  redirectTo: string;
  nonce: string | null;
  verifier: string;
  /** sha256 of the browser-binding cookie (login CSRF: RFC 9700 §4.7.1, ASVS 5.0 V10.2.1). */
  binding: string;
  /** deps.clock time; the store's TTL only bounds how long the key is kept. */
  expiresAt: number;
};

/** What the callback leaves for finishOAuth under the one-time code. */
export type FinishRecord = { userId: string; provider: string; identityId: string; expiresAt: number };

const stateKey = (state: string) => `oauth:state:${sha256(state)}`;
export const finishKey = (code: string) => `oauth:code:${sha256(code)}`;

/** A browser-binding value that looks like one we set (anything else is replaced). */
export function isBindingValue(value: string | undefined): value is string {
  return !!value && /^[A-Za-z0-9_-]{43}$/.test(value);
}

export async function enabledProvider(db: Deps['db'], name: string): Promise<OAuthProviderRow> {
  const row = /^[a-z0-9-]{1,40}$/.test(name) ? await findProvider(db, name) : null;
  if (!row?.enabled) throw new OAuthFlowError('NOT_FOUND', 'provider_unknown_or_disabled', 'No such sign-in provider');
  return row;
}

/**
 * Begins a flow: PKCE S256 verifier, state and (OIDC) nonce, stored for 10 minutes under the
 * state with the purpose, the user to link and redirectTo, bound to the browser's binding cookie.
 * Returns the provider's authorization URL and the binding value to (re)set as the cookie.
 */
export async function startFlow(
  deps: FlowDeps,
  input: { provider: string; redirectTo?: string | null; purpose: 'login' | 'link'; userId?: string | null; binding?: string | null },
): Promise<{ url: string; binding: string; redirectTo: string }> {
  const redirectTo = allowedRedirect(deps.config, input.redirectTo);
  if (!redirectTo) throw new BadInputError('redirectTo must be under APP_URL', 'redirectTo');
  const row = await enabledProvider(deps.db, input.provider);
  const config = await atProvider(deps, row.name, () => providerConfiguration(deps, row));
  // Reused when the browser has one, so two tabs signing in at once both finish.
  const binding = isBindingValue(input.binding ?? undefined) ? input.binding! : deps.random.token(32);
  const state = deps.random.token(32);
  const verifier = deps.random.token(32);
  const nonce = row.issuer ? deps.random.token(32) : null;
  const record: FlowRecord = {
    provider: row.name,
    purpose: input.purpose,
    userId: input.userId ?? null,
    redirectTo,
    nonce,
    verifier,
    binding: sha256(binding),
    expiresAt: deps.clock.now() + STATE_TTL_MS,
  };
  await deps.store.codes.set(stateKey(state), JSON.stringify(record), STATE_TTL_MS);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: callbackUrl(deps.config, row.name),
    response_type: 'code',
    scope: row.scopes.join(' '),
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...(nonce ? { nonce } : {}),
  });
  return { url: url.href, binding, redirectTo };
}

/** The flow of a state, used up atomically: of two callbacks with one state, one gets it. */
async function takeFlow(deps: FlowDeps, state: string | null): Promise<FlowRecord> {
  if (!state || state.length > 256) throw new OAuthFlowError('INVALID_TOKEN', 'state_missing');
  const key = stateKey(state);
  const stored = await deps.store.codes.get(key);
  if (!stored || !(await deps.store.codes.takeIf(key, stored))) throw new OAuthFlowError('INVALID_TOKEN', 'state_unknown');
  const flow = JSON.parse(stored) as FlowRecord;
  if (flow.expiresAt <= deps.clock.now()) throw new OAuthFlowError('INVALID_TOKEN', 'state_expired');
  return flow;
}

/**
 * GET /oauth/:provider/callback: checks the state (known, unused, this provider's) and that the
 * browser holds its binding cookie, then the provider's answer; signs the identity in (or links
 * it) and returns where to send the browser: redirectTo with `?code=` (login), `?linked=` (link),
 * or `?error=<ErrorCode>` for any failure, which is audited as oauth.login_failed with its reason.
 */
export async function handleCallback(
  deps: FlowDeps,
  input: { provider: string; query: URLSearchParams; binding: string | undefined },
  meta: RequestMeta,
): Promise<string> {
  let flow: FlowRecord | null = null;
  let userId: string | null = null;
  try {
    flow = await takeFlow(deps, input.query.get('state'));
    userId = flow.userId;
    if (flow.provider !== input.provider) throw new OAuthFlowError('INVALID_TOKEN', 'state_provider_mismatch');
    if (!isBindingValue(input.binding) || sha256(input.binding) !== flow.binding) throw new OAuthFlowError('INVALID_TOKEN', 'browser_mismatch');
    const providerError = input.query.get('error');
    if (providerError) throw new OAuthFlowError('UNAUTHENTICATED', `provider_error:${providerError.replace(/[^a-z_]/g, '').slice(0, 40)}`);
    const row = await enabledProvider(deps.db, input.provider);
    const profile = await exchangeCode(deps, row, input.query, { state: input.query.get('state')!, nonce: flow.nonce, verifier: flow.verifier });
    if (flow.purpose === 'link' && flow.userId) {
      await linkToUser(deps, row, flow.userId, profile, meta);
      return withParam(flow.redirectTo, 'linked', row.name);
    }
    const { user, identity } = await resolveSignIn(deps, row, profile, meta);
    userId = user.id;
    if (user.disabled) throw new OAuthFlowError('ACCOUNT_DISABLED', 'disabled', 'This account is disabled');
    const code = deps.random.token(32);
    const finish: FinishRecord = { userId: user.id, provider: row.name, identityId: identity.id, expiresAt: deps.clock.now() + FINISH_CODE_TTL_MS };
    await deps.store.codes.set(finishKey(code), JSON.stringify(finish), FINISH_CODE_TTL_MS);
    return withParam(flow.redirectTo, 'code', code);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const reason = error instanceof OAuthFlowError ? error.reason : error.code.toLowerCase();
    await recordAudit(deps, deps.db, {
      action: 'oauth.login_failed',
      outcome: 'FAILURE',
      userId,
      actorId: userId,
      meta,
      metadata: { provider: input.provider.slice(0, 40), reason, purpose: flow?.purpose ?? null },
    });
    return withParam(flow?.redirectTo ?? defaultRedirectTo(deps.config), 'error', error.code);
  }
}
