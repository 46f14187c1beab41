import type { Deps } from '../../deps.js';
import { AccountDisabledError, InvalidTokenError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { EmailNotVerifiedError } from '../auth/errors.js';
import { sendPendingLoginCode } from '../mfa/challenge.js';
import type { AuthResult } from '../sessions/auth-payload.js';
import { requireRecentSignIn } from '../sessions/recent-sign-in.js';
import { completeSignIn } from '../sessions/sign-in.js';
import type { SessionRecord } from '../../shared/store.js';
import { findUserById } from '../users/queries.js';
import { resendEmailVerification } from '../verification/service.js';
import { type FinishRecord, finishKey, startFlow } from './flow.js';
import { listIdentities, listProviders } from './queries.js';
import type { IdentityRow, OAuthProviderRow } from './tables.js';

type StartDeps = Pick<Deps, 'config' | 'db' | 'store' | 'clock' | 'random' | 'oauthKey'>;

/** startOAuth and GET /oauth/:provider: a sign-in flow (see flow.ts startFlow). */
export function startOAuth(deps: StartDeps, input: { provider: string; redirectTo?: string | null; binding?: string | null }) {
  return startFlow(deps, { ...input, purpose: 'login' });
}

/**
 * startOAuthLink: links a provider identity to the caller, who must have signed in within the
 * last 5 minutes (REAUTH_REQUIRED): a left-open session must not attach the thief's provider
 * account, which would then sign in as the victim (ASVS 5.0 V7.5.1).
 */
export function startOAuthLink(
  deps: StartDeps,
  auth: { userId: string; session: Pick<SessionRecord, 'createdAt'> | null },
  input: { provider: string; redirectTo?: string | null; binding?: string | null },
) {
  requireRecentSignIn(deps, auth);
  return startFlow(deps, { ...input, purpose: 'link', userId: auth.userId });
}

/**
 * finishOAuth: the one-time code from the callback's redirect (60 s, used up atomically) →
 * completeSignIn with amr `fed`. An account with MFA gets the pending token: a provider's
 * sign-in never skips our second factor. A disabled account (since the callback) gets
 * ACCOUNT_DISABLED; REQUIRE_EMAIL_VERIFICATION holds as for a password login.
 */
export async function finishOAuth(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'keys' | 'messages' | 'random' | 'store'>,
  code: string,
  meta: RequestMeta,
): Promise<AuthResult> {
  const key = finishKey(code);
  const stored = code.length <= 256 ? await deps.store.codes.get(key) : null;
  if (!stored || !(await deps.store.codes.takeIf(key, stored))) throw new InvalidTokenError();
  const finish = JSON.parse(stored) as FinishRecord;
  if (finish.expiresAt <= deps.clock.now()) throw new InvalidTokenError();
  const user = await findUserById(deps.db, finish.userId);
  if (!user) throw new InvalidTokenError();
  const failed = (reason: string) =>
    recordAudit(deps, deps.db, { action: 'oauth.login_failed', outcome: 'FAILURE', userId: user.id, meta, metadata: { provider: finish.provider, reason } });
  if (user.disabled) {
    await failed('disabled');
    throw new AccountDisabledError();
  }
  if (deps.config.requireEmailVerification && !user.emailVerified) {
    await failed('email_not_verified');
    await resendEmailVerification(deps, user, meta);
    throw new EmailNotVerifiedError();
  }
  return completeSignIn(deps, user, { meta, methods: ['fed'], firstFactor: 'oauth', onPendingLogin: sendPendingLoginCode });
}

/** Enabled providers, for a login page (name and display name only). */
export async function listEnabledProviders(deps: Pick<Deps, 'db'>): Promise<OAuthProviderRow[]> {
  return (await listProviders(deps.db)).filter((p) => p.enabled);
}

export function identitiesOf(deps: Pick<Deps, 'db'>, userId: string): Promise<IdentityRow[]> {
  return listIdentities(deps.db, userId);
}
