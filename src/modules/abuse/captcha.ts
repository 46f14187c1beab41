import type { Logger } from '../../shared/logger.js';

export type CaptchaVerifier = {
  /** True only for a token the provider accepts; false for a refusal, an error or a timeout (fail closed). */
  verify(token: string, ip: string | null): Promise<boolean>;
};

/** Long enough for a provider round trip, short enough that a hung provider does not hold logins. */
const VERIFY_TIMEOUT_MS = 3_000;

/**
 * A siteverify client: Cloudflare Turnstile, hCaptcha and reCAPTCHA share the protocol (POST
 * form `secret`, `response`, `remoteip`; JSON `{ success }`). Any doubt counts as a failure.
 */
export function createCaptchaVerifier(options: { url: string; secret: string; logger: Logger; timeoutMs?: number }): CaptchaVerifier {
  return {
    async verify(token, ip) {
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
        const body = (await response.json()) as { success?: unknown };
        return body.success === true;
      } catch (err) {
        options.logger.warn({ err: { message: (err as Error).message } }, 'captcha verification failed');
        return false;
      }
    },
  };
}
