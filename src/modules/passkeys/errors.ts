import { DomainError } from '../../shared/errors.js';

/**
 * A passkey response that does not verify: an unknown credential, another account's, a wrong
 * origin or RP ID, a bad signature, no user verification, a counter that went back. One answer
 * for all (INVALID_CODE): the audit row (passkey.login_failed) keeps the reason.
 */
export class PasskeyRejectedError extends DomainError {
  constructor() {
    super('INVALID_CODE', 'The passkey could not be verified');
  }
}
