import { DomainError } from '../../shared/errors.js';

/** A refresh or one-time token that is malformed, unknown, used or expired: one answer for all. */
export class InvalidTokenError extends DomainError {
  constructor() {
    super('INVALID_TOKEN', 'The token is invalid or has expired');
  }
}

export class AccountDisabledError extends DomainError {
  constructor() {
    super('ACCOUNT_DISABLED', 'This account is disabled');
  }
}

/** Only after a correct password (REQUIRE_EMAIL_VERIFICATION): a guesser learns nothing from it. */
export class EmailNotVerifiedError extends DomainError {
  constructor() {
    super('EMAIL_NOT_VERIFIED', 'Verify your email address first: a new link has been sent if the last one is older than a minute');
  }
}
