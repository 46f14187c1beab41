import { DomainError } from '../../shared/errors.js';

/** The caller's sign-in is too old for this operation: sign in again (or finish MFA again), then retry. */
export class ReauthRequiredError extends DomainError {
  constructor(message = 'This needs a recent sign-in: sign in again and retry') {
    super('REAUTH_REQUIRED', message);
  }
}
