import { DomainError } from '../../shared/errors.js';

export class WeakPasswordError extends DomainError {
  constructor(reason: string) {
    super('WEAK_PASSWORD', reason);
  }
}

/** One message for an unknown email and a wrong password, so neither reveals an account. */
export class InvalidCredentialsError extends DomainError {
  constructor(message = 'Wrong email or password') {
    super('INVALID_CREDENTIALS', message);
  }
}
