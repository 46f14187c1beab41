import { DomainError } from '../../shared/errors.js';

/** Least privilege (ASVS 5.0 V8.2): nobody grants a capability they do not hold themselves. */
export class CapNotHeldError extends DomainError {
  constructor(caps: string[]) {
    super('FORBIDDEN', `You cannot grant capabilities you do not hold: ${caps.join(', ')}`, { caps });
  }
}
