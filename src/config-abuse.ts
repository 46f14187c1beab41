import { z } from 'zod';
import { parseDuration } from './shared/duration.js';

/**
 * The abuse-protection part of the configuration (README "Rate limits and lockout" and "Limits"): rate limits,
 * login lockout, CAPTCHA and GraphQL/HTTP limits. Only config.ts reads the environment; this
 * file holds the schema pieces and their defaults.
 */

/** A fixed-window limit: at most `max` executions per `windowMs`. */
export type Limit = { max: number; windowMs: number };

/** Limits by name `<operation>.<scope>` (scope: ip, account, recipient...). Later operations add theirs here. */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, Limit>> = Object.freeze({
  'login.ip': { max: 30, windowMs: 60_000 },
  'register.ip': { max: 30, windowMs: 5 * 60_000 },
  // Mails and SMS (links and codes), counted alike for known and unknown recipients.
  'send.ip': { max: 20, windowMs: 10 * 60_000 },
  'send.recipient': { max: 1, windowMs: 60_000 },
  'sendHourly.recipient': { max: 5, windowMs: 3_600_000 },
  // Checks of one-time tokens and codes (verifyEmail, resetPassword, loginWithMagicLink, verifyPhone, verify2fa).
  'verify.ip': { max: 30, windowMs: 60_000 },
  // Second-factor codes per account, across pending logins (each also has 5 tries): bounds TOTP guessing by a holder of the password.
  'mfa.account': { max: 10, windowMs: 15 * 60_000 },
  // Re-authentication with the current password (changePassword, deleteAccount, MFA changes), correct or not:
  // bounds guessing by a holder of a stolen access token (ASVS 5.0 V6.3.1), beside the login streak it also counts in.
  'reauth.account': { max: 10, windowMs: 15 * 60_000 },
  // Provider sign-in per IP, as login.ip: GET /oauth/:provider, its callback, startOAuth, startOAuthLink and finishOAuth
  // each count (a whole sign-in is three), so state and one-time codes cannot be churned.
  'oauth.ip': { max: 60, windowMs: 60_000 },
});

/** Operations that take a captchaToken. */
export const CAPTCHA_OPERATIONS = ['register', 'login', 'requestPasswordReset', 'requestMagicLink'] as const;
export type CaptchaOperation = (typeof CAPTCHA_OPERATIONS)[number];

/** `login.ip=30/1m,register.ip=100/5m`: overrides of DEFAULT_RATE_LIMITS; unknown names are refused. */
function parseRateLimits(value: string, ctx: z.RefinementCtx): Record<string, Limit> {
  const limits: Record<string, Limit> = { ...DEFAULT_RATE_LIMITS };
  for (const entry of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z]+\.[A-Za-z]+)=(\d+)\/(.+)$/.exec(entry);
    const windowMs = match ? parseDuration(match[3]!) : null;
    if (!match || !windowMs || !(match[1]! in DEFAULT_RATE_LIMITS)) {
      ctx.addIssue({
        code: 'custom',
        message: `bad entry "${entry}": expected <limit>=<max>/<window> with limit one of ${Object.keys(DEFAULT_RATE_LIMITS).join(', ')}`,
      });
      continue;
    }
    limits[match[1]!] = { max: Number(match[2]), windowMs };
  }
  return limits;
}

const count = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);

export const abuseEnv = {
  /** Overrides of the per-operation limits. @default login.ip=30/1m,register.ip=30/5m,send.ip=20/10m,send.recipient=1/1m,sendHourly.recipient=5/1h,verify.ip=30/1m,mfa.account=10/15m,reauth.account=10/15m,oauth.ip=60/1m */
  RATE_LIMITS: z.string().default('').transform(parseRateLimits),
  /** Consecutive failed logins of one account before a CAPTCHA is required (when one is configured). @default 5 */
  LOGIN_CAPTCHA_AFTER: count(5),
  /** Consecutive failed logins before each next attempt waits a growing delay (1 s, doubling, at most 15 min). @default 10 */
  LOGIN_DELAY_AFTER: count(10),
  /** Consecutive failed logins that lock the account until a password reset or an admin unlock (NIST SP 800-63B §5.2.2). @default 100 */
  LOGIN_LOCK_AFTER: count(100),
  /** Consecutive failed second-factor codes of one account, across pending logins, that lock its sign-in until a password reset or an admin unlock (NIST SP 800-63B §3.2.2 rev 4). @default 100 */
  MFA_LOCK_AFTER: count(100),
  /** Consecutive failed second-factor codes after which the user is mailed a warning (none when not below MFA_LOCK_AFTER). @default 10 */
  MFA_WARN_AFTER: count(10),
  /** Operations that always need a CAPTCHA (comma-separated, from CAPTCHA_OPERATIONS). @default none */
  CAPTCHA_REQUIRED_FOR: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(CAPTCHA_OPERATIONS))),
  /** Maximum selection depth. @default 10 */
  GRAPHQL_MAX_DEPTH: count(10),
  /** Maximum aliases per operation. @default 15 */
  GRAPHQL_MAX_ALIASES: count(15),
  /** Maximum graphql-armor cost. @default 5000 */
  GRAPHQL_MAX_COST: count(5000),
  /** Maximum tokens in a document. @default 1000 */
  GRAPHQL_MAX_TOKENS: count(1000),
  /** Maximum directives per operation. @default 10 */
  GRAPHQL_MAX_DIRECTIVES: count(10),
  /** Largest accepted request body, in bytes. @default 102400 */
  REQUEST_BODY_LIMIT: count(100 * 1024, 1024),
};

type AbuseEnv = { [K in keyof typeof abuseEnv]: z.output<(typeof abuseEnv)[K]> };

/** The abuse part of Config (its type is this function's result), reporting cross-variable problems by variable. */
export function abuseConfig(e: AbuseEnv, problem: (key: string, message: string) => void) {
  if (e.LOGIN_DELAY_AFTER >= e.LOGIN_LOCK_AFTER) problem('LOGIN_LOCK_AFTER', 'must be greater than LOGIN_DELAY_AFTER');
  return Object.freeze({
    rateLimits: Object.freeze(e.RATE_LIMITS) as Readonly<Record<string, Limit>>,
    loginCaptchaAfter: e.LOGIN_CAPTCHA_AFTER,
    loginDelayAfter: e.LOGIN_DELAY_AFTER,
    loginLockAfter: e.LOGIN_LOCK_AFTER,
    mfaLockAfter: e.MFA_LOCK_AFTER,
    mfaWarnAfter: e.MFA_WARN_AFTER,
    captchaRequiredFor: Object.freeze([...new Set(e.CAPTCHA_REQUIRED_FOR)]) as readonly CaptchaOperation[],
    graphqlLimits: Object.freeze({
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxCost: e.GRAPHQL_MAX_COST,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
    }),
    requestBodyLimit: e.REQUEST_BODY_LIMIT,
  });
}

export type AbuseConfig = ReturnType<typeof abuseConfig>;
