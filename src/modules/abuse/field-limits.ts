import type { Limit } from '../../config-abuse.js';
import type { Deps } from '../../deps.js';
import { sha256 } from '../../shared/crypto.js';
import { countWindowCall } from '../../shared/rate-limit.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { RateLimitedError } from './errors.js';

/**
 * The declarative per-IP limits: GraphQL field → limit name (RATE_LIMITS). Counted per field
 * execution before the resolver runs (graphql/plugins/use-field-rate-limits.ts), so aliases and
 * concurrent requests count one by one and a refused alias fails alone. Services call
 * enforceLimit with these names too where a field's check is conditional (MFA enrollment and
 * re-authentication use `verify.ip`): they share the same bucket.
 */
export const FIELD_RATE_LIMITS: Readonly<Record<string, string>> = Object.freeze({
  'Mutation.login': 'login.ip',
  'Mutation.register': 'register.ip',
  'Mutation.verifyEmail': 'verify.ip',
  'Mutation.verifyPhone': 'verify.ip',
  'Mutation.resetPassword': 'verify.ip',
  'Mutation.loginWithMagicLink': 'verify.ip',
  'Mutation.verify2fa': 'verify.ip',
  // Provider sign-in; GET /oauth/:provider and its callback count in the same bucket (oauth/routes.ts).
  'Mutation.startOAuth': 'oauth.ip',
  'Mutation.startOAuthLink': 'oauth.ip',
  'Mutation.finishOAuth': 'oauth.ip',
  'Mutation.startPasskeyLogin': 'login.ip',
  'Mutation.finishPasskeyLogin': 'verify.ip',
});

/** Limits counted in sliding windows on the atomic WindowStore (shared/rate-limit.ts). */
export const WINDOW_LIMIT_NAMES: ReadonlySet<string> = new Set(Object.values(FIELD_RATE_LIMITS));

type LimitDeps = Pick<Deps, 'config' | 'store' | 'db' | 'clock' | 'random'>;

/**
 * One call against a sliding-window limit; RATE_LIMITED (retryAfter: until a next call would
 * pass) when over it. The subject is hashed: keys never hold an IP in clear.
 */
export async function enforceWindowLimit(deps: LimitDeps, name: string, subject: string, meta: RequestMeta): Promise<void> {
  const limit = deps.config.abuse.rateLimits[name];
  if (!limit) throw new Error(`unknown rate limit ${name}`);
  const now = deps.clock.now();
  const key = sha256(subject);
  const decision = await countWindowCall(deps.store.windows, now, `rl:${name}`, key, limit);
  if (decision.allowed) return;
  // One audit row per window and subject, not one per refused call (an attack would flood the table).
  if ((await deps.store.counters.increment(`rl-audit:${name}:${key}`, limit.windowMs)).count === 1) await auditLimitExceeded(deps, name, limit, meta);
  throw new RateLimitedError(decision.retryAt - now);
}

/** The rate_limit.exceeded row: once per window and subject, never with the subject itself. */
export async function auditLimitExceeded(deps: Pick<Deps, 'db' | 'clock' | 'random'>, name: string, limit: Limit, meta: RequestMeta): Promise<void> {
  await recordAudit(deps, deps.db, {
    action: 'rate_limit.exceeded',
    outcome: 'FAILURE',
    actorId: null,
    meta,
    metadata: { limit: name, max: limit.max, windowMs: limit.windowMs },
  });
}
