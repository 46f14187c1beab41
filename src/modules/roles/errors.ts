import { DomainError } from '../../shared/errors.js';

/** Least privilege (ASVS 5.0 V8.2): nobody grants a capability they do not hold themselves. */
export class CapNotHeldError extends DomainError {
  constructor(caps: string[]) {
    super('FORBIDDEN', `You cannot grant capabilities you do not hold: ${caps.join(', ')}`, { caps });
  }
}

/**
 * Least privilege applies to the target too: acting on an account (or a role) needs every
 * capability it holds, or `users:write` would take over an admin through its email.
 */
export class TargetOutranksError extends DomainError {
  constructor(what: string, caps: string[]) {
    super('FORBIDDEN', `${what} holds capabilities you do not hold: ${caps.join(', ')}`, { caps });
  }
}
