import { DomainError } from '../../shared/errors.js';

/** A code (SMS, email, TOTP, recovery) that is wrong, expired, used, or past its tries: one answer for all. */
export class InvalidCodeError extends DomainError {
  constructor(message = 'The code is invalid or has expired') {
    super('INVALID_CODE', message);
  }
}
