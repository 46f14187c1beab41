/** Every code a client can see in `extensions.code` (README "Errors"). */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'MFA_REQUIRED',
  'INVALID_CREDENTIALS',
  'INVALID_CODE',
  'INVALID_TOKEN',
  'EMAIL_TAKEN',
  'WEAK_PASSWORD',
  'BAD_USER_INPUT',
  'RATE_LIMITED',
  'CAPTCHA_REQUIRED',
  'CAPTCHA_INVALID',
  'ACCOUNT_DISABLED',
  'EMAIL_NOT_VERIFIED',
  'NOT_FOUND',
  /** An operation that needs a sign-in within the last 5 minutes (README "Errors"). */
  'REAUTH_REQUIRED',
  /** A provider identity whose email belongs to an account it may not be linked to, or a subject linked to another account (README "Sign-in with OAuth / OIDC providers"). */
  'IDENTITY_CONFLICT',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * An expected outcome with a stable code and a client-safe message. Only DomainErrors
 * (and GraphQL's own validation errors) reach clients unmasked; anything else is masked.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class BadInputError extends DomainError {
  constructor(message: string, field?: string) {
    super('BAD_USER_INPUT', message, field ? { field } : {});
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'Authentication required') {
    super('UNAUTHENTICATED', message);
  }
}

/**
 * A refresh or one-time token that is malformed, unknown, used or expired: one answer for all.
 * Here rather than in a module: sessions, auth, password and verification all answer it.
 */
export class InvalidTokenError extends DomainError {
  constructor() {
    super('INVALID_TOKEN', 'The token is invalid or has expired');
  }
}

/** Only after a correct first factor (ACCOUNT_DISABLED): thrown by auth, mfa, password and sessions. */
export class AccountDisabledError extends DomainError {
  constructor() {
    super('ACCOUNT_DISABLED', 'This account is disabled');
  }
}
