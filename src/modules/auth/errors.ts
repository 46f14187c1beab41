import { DomainError } from '../../shared/errors.js';

/** Only after a correct password (REQUIRE_EMAIL_VERIFICATION): a guesser learns nothing from it. */
export class EmailNotVerifiedError extends DomainError {
  constructor() {
    super('EMAIL_NOT_VERIFIED', 'Verify your email address first: a new link has been sent if the last one is older than a minute');
  }
}
