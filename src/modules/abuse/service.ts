import type { CaptchaOperation, Limit } from '../../config-abuse.js';
import type { Deps } from '../../deps.js';
import { sha256 } from '../../shared/crypto.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { auditLimitExceeded, enforceWindowLimit, WINDOW_LIMIT_NAMES } from './field-limits.js';
import { CaptchaInvalidError, CaptchaRequiredError, RateLimitedError } from './errors.js';

type AbuseDeps = Pick<Deps, 'config' | 'store' | 'db' | 'clock' | 'random' | 'captcha'>;

/** Login waits double from 1 s up to 15 min once LOGIN_DELAY_AFTER failures are reached. */
const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 15 * 60_000;
/** A failure streak is forgotten this long after its last counted attempt (or at a reset). */
const GATE_TTL_MS = 30 * 86_400_000;

/**
 * Counts one execution against a named limit (`login.ip`, `register.ip`, ...) for a subject,
 * atomically and before any work, so aliases, batches and concurrent requests count one by
 * one. The subject is hashed: keys in Redis never hold an email or an IP in clear.
 */
export async function enforceLimit(deps: AbuseDeps, name: string, subject: string, meta: RequestMeta): Promise<void> {
  if (WINDOW_LIMIT_NAMES.has(name)) return enforceWindowLimit(deps, name, subject, meta);
  const limit: Limit | undefined = deps.config.abuse.rateLimits[name];
  if (!limit) throw new Error(`unknown rate limit ${name}`);
  const { count, resetInMs } = await deps.store.counters.increment(`rl:${name}:${sha256(subject)}`, limit.windowMs);
  if (count <= limit.max) return;
  // One audit row per window and subject, not one per refused request (an attack would flood the table).
  if (count === limit.max + 1) await auditLimitExceeded(deps, name, limit, meta);
  throw new RateLimitedError(resetInMs);
}

/** The key of an account's failure streak: the normalised email, hashed, whether or not the account exists. */
export function accountKey(email: string): string {
  return `login:${sha256(email)}`;
}

/**
 * Before a password is checked: a CAPTCHA for attempts past LOGIN_CAPTCHA_AFTER (when one is
 * configured, or always for operations in CAPTCHA_REQUIRED_FOR), then the gate, which may
 * refuse with RATE_LIMITED. Known and unknown emails take exactly the same path.
 *
 * The CAPTCHA threshold is decided inside the gate's atomic step, not by reading the streak
 * first: a read-then-count let concurrent attempts all see the old streak and skip the CAPTCHA
 * (50 parallel wrong logins got 10 password checks instead of 5). So a token, when sent, is
 * verified first and the gate is told whether it was solved (ASVS 5.0 V6.3.1).
 */
export async function guardLoginAttempt(deps: AbuseDeps, email: string, captchaToken: string | null | undefined, meta: RequestMeta) {
  const { abuse } = deps.config;
  const always = abuse.captchaRequiredFor.includes('login');
  if (always) await checkCaptcha(deps, 'login', captchaToken, meta);
  const captcha =
    deps.captcha && !always
      ? { after: abuse.loginCaptchaAfter, solved: !!captchaToken && (await deps.captcha.verify(captchaToken, meta.ip, 'login')), token: captchaToken }
      : undefined;
  await passLoginGate(deps, email, meta, captcha);
}

/**
 * The account's failure gate alone: login (after its CAPTCHA) and every re-authentication with
 * the current password count in the same streak, so a stolen access token guesses no faster
 * than a login does (ASVS 5.0 V6.3.1; NIST SP 800-63B §5.2.2). RATE_LIMITED while a delay runs
 * or once locked. Login passes its CAPTCHA state, decided inside the gate's atomic step.
 */
export async function passLoginGate(
  deps: AbuseDeps,
  email: string,
  meta: RequestMeta,
  captcha?: { after: number; solved: boolean; token: string | null | undefined },
) {
  const { abuse } = deps.config;
  const now = deps.clock.now();
  const gate = await deps.store.gates.begin(accountKey(email), {
    now,
    free: abuse.loginDelayAfter,
    hard: abuse.loginLockAfter,
    baseDelayMs: BASE_DELAY_MS,
    maxDelayMs: MAX_DELAY_MS,
    ttlMs: GATE_TTL_MS,
    ...(captcha ? { captcha: { after: captcha.after, solved: captcha.solved } } : {}),
  });
  if (!gate.allowed && gate.captcha) return refuseCaptcha(deps, 'login', captcha?.token, meta);
  if (!gate.allowed) throw new RateLimitedError(gate.retryAt - now, gate.locked ? { locked: true } : {});
  if (gate.attempt === abuse.loginDelayAfter || gate.attempt === abuse.loginLockAfter) {
    const metadata = { limit: gate.attempt === abuse.loginLockAfter ? 'login.locked' : 'login.delayed', failures: gate.attempt - 1 };
    await recordAudit(deps, deps.db, { action: 'rate_limit.exceeded', outcome: 'FAILURE', actorId: null, meta, metadata });
  }
}

/** After a correct password (or an unlock): the streak starts again from zero. */
export async function clearLoginFailures(deps: Pick<Deps, 'store'>, email: string): Promise<void> {
  await deps.store.gates.reset(accountKey(email));
}

/** The key of an account's streak of wrong second-factor codes (by user id: only known accounts reach a second factor). */
const mfaKey = (userId: string) => `mfa-failures:${userId}`;

/**
 * Before a second-factor code is checked: counts the attempt in the account's streak of
 * consecutive failures, across pending logins and not windowed (NIST SP 800-63B §3.2.2 rev 4:
 * at most 100). No delays; once MFA_LOCK_AFTER failures are counted, RATE_LIMITED (locked)
 * until a password reset or an admin unlock. Returns the attempt's number in the streak.
 */
export async function passMfaGate(deps: AbuseDeps, userId: string): Promise<number> {
  const hard = deps.config.abuse.mfaLockAfter;
  const now = deps.clock.now();
  const gate = await deps.store.gates.begin(mfaKey(userId), {
    now,
    free: hard + 1,
    hard,
    baseDelayMs: BASE_DELAY_MS,
    maxDelayMs: MAX_DELAY_MS,
    ttlMs: GATE_TTL_MS,
  });
  if (!gate.allowed) throw new RateLimitedError(gate.retryAt - now, { locked: true });
  return gate.attempt;
}

/** True while the account's second factor is locked (no code is sent then). */
export async function isMfaLocked(deps: Pick<Deps, 'store' | 'config'>, userId: string): Promise<boolean> {
  return (await deps.store.gates.peek(mfaKey(userId))) >= deps.config.abuse.mfaLockAfter;
}

/** After a right code, a password reset or an admin unlock. */
export async function clearMfaFailures(deps: Pick<Deps, 'store'>, userId: string): Promise<void> {
  await deps.store.gates.reset(mfaKey(userId));
}

/** CAPTCHA_REQUIRED without a token, CAPTCHA_INVALID (audited) when the provider refuses it or cannot be reached. */
export async function checkCaptcha(deps: AbuseDeps, operation: CaptchaOperation, token: string | null | undefined, meta: RequestMeta) {
  if (!deps.captcha) return;
  if (token && (await deps.captcha.verify(token, meta.ip, operation))) return;
  await refuseCaptcha(deps, operation, token, meta);
}

async function refuseCaptcha(deps: AbuseDeps, operation: CaptchaOperation, token: string | null | undefined, meta: RequestMeta): Promise<never> {
  if (!token) throw new CaptchaRequiredError();
  await recordAudit(deps, deps.db, { action: 'captcha.failed', outcome: 'FAILURE', actorId: null, meta, metadata: { operation } });
  throw new CaptchaInvalidError();
}

/** For operations other than login: CAPTCHA when configured as always required for them. */
export async function checkCaptchaIfRequired(deps: AbuseDeps, operation: CaptchaOperation, token: string | null | undefined, meta: RequestMeta) {
  if (deps.config.abuse.captchaRequiredFor.includes(operation)) await checkCaptcha(deps, operation, token, meta);
}
