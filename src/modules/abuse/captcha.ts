import type { CaptchaOperation } from '../../config-abuse.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';

export type CaptchaVerifier = {
  /**
   * True only for a token the provider accepts, solved on an expected hostname, for `operation`
   * and recently; false for a refusal, an error or a timeout (fail closed).
   */
  verify(token: string, ip: string | null, operation: CaptchaOperation): Promise<boolean>;
};

/** Long enough for a provider round trip, short enough that a hung provider does not hold logins. */
const VERIFY_TIMEOUT_MS = 3_000;

export type CaptchaVerifierOptions = {
  url: string;
  secret: string;
  logger: Logger;
  clock: Clock;
  /** Hostnames the CAPTCHA may have been solved on; empty: any. */
  hostnames: readonly string[];
  /** Oldest accepted `challenge_ts`. */
  maxAgeMs: number;
  timeoutMs?: number;
};

type SiteverifyAnswer = { success?: unknown; hostname?: unknown; action?: unknown; challenge_ts?: unknown };

/**
 * A siteverify client: Cloudflare Turnstile, hCaptcha and reCAPTCHA share the protocol (POST
 * form `secret`, `response`, `remoteip`; JSON `{ success, hostname, action, challenge_ts }`).
 * Any doubt counts as a failure.
 */
export function createCaptchaVerifier(options: CaptchaVerifierOptions): CaptchaVerifier {
  return {
    async verify(token, ip, operation) {
      if (!token || token.length > 4096) return false;
      const form = new URLSearchParams({ secret: options.secret, response: token });
      if (ip) form.set('remoteip', ip);
      try {
        const response = await fetch(options.url, {
          method: 'POST',
          body: form,
          signal: AbortSignal.timeout(options.timeoutMs ?? VERIFY_TIMEOUT_MS),
        });
        if (!response.ok) {
          options.logger.warn({ status: response.status }, 'captcha verification answered an error');
          return false;
        }
        const refusal = checkAnswer((await response.json()) as SiteverifyAnswer, operation, options);
        if (refusal) options.logger.info({ operation, refusal }, 'captcha token refused');
        return refusal === null;
      } catch (err) {
        options.logger.warn({ err: { message: (err as Error).message } }, 'captcha verification failed');
        return false;
      }
    },
  };
}

/**
 * `success` alone does not bind a token to this site, this operation or this moment: a token
 * solved on another site using the same provider key, for another action, or long ago and
 * replayed would pass (Turnstile and reCAPTCHA docs: "validate hostname, action and challenge_ts").
 * Returns why the answer is refused, or null.
 */
function checkAnswer(body: SiteverifyAnswer, operation: CaptchaOperation, o: CaptchaVerifierOptions): string | null {
  if (body.success !== true) return 'unsuccessful';
  if (o.hostnames.length && (typeof body.hostname !== 'string' || !o.hostnames.includes(body.hostname.toLowerCase()))) return 'hostname';
  // The action is set by the page that rendered the widget; providers without actions omit it.
  if (body.action !== undefined && body.action !== null && body.action !== '' && body.action !== operation) return 'action';
  const solvedAt = typeof body.challenge_ts === 'string' ? Date.parse(body.challenge_ts) : NaN;
  if (Number.isNaN(solvedAt)) return 'challenge_ts';
  const age = o.clock.now() - solvedAt;
  // A minute of clock skew either way is tolerated for timestamps in the future.
  if (age > o.maxAgeMs || age < -60_000) return 'stale';
  return null;
}
