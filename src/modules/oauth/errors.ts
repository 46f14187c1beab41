import { DomainError } from '../../shared/errors.js';

/**
 * A provider identity that may not sign into the account its email names (the account's or the
 * provider's email is unverified, or linkByEmail is off), or a subject already linked to another
 * account: a pre-account-takeover defence (README "Sign-in with OAuth / OIDC providers").
 */
export class IdentityConflictError extends DomainError {
  constructor(message = 'This provider account cannot be used with this account: sign in another way and link it') {
    super('IDENTITY_CONFLICT', message);
  }
}

/**
 * A failed check of the provider's answer or of the flow's own state, with a reason for the
 * audit row (never a token). `code` is what the callback's redirect carries in `?error=`.
 */
export class OAuthFlowError extends DomainError {
  constructor(
    code: 'INVALID_TOKEN' | 'INVALID_CREDENTIALS' | 'UNAUTHENTICATED' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'ACCOUNT_DISABLED',
    readonly reason: string,
    message = 'The sign-in with the provider did not complete',
  ) {
    super(code, message);
  }
}
