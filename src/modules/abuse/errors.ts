import { DomainError } from '../../shared/errors.js';

/** RATE_LIMITED with `retryAfter` in whole seconds (README "Errors"). */
export class RateLimitedError extends DomainError {
  constructor(retryAfterMs: number, extra: Record<string, unknown> = {}) {
    super('RATE_LIMITED', 'Too many attempts; try again later', { retryAfter: Math.max(1, Math.ceil(retryAfterMs / 1000)), ...extra });
  }
}

export class CaptchaRequiredError extends DomainError {
  constructor() {
    super('CAPTCHA_REQUIRED', 'Solve the CAPTCHA and send its token as captchaToken');
  }
}

export class CaptchaInvalidError extends DomainError {
  constructor() {
    super('CAPTCHA_INVALID', 'The CAPTCHA could not be verified; solve it again');
  }
}
