import { DomainError } from '../../shared/errors.js';

export class EmailTakenError extends DomainError {
  constructor() {
    super('EMAIL_TAKEN', 'An account with this email already exists');
  }
}
