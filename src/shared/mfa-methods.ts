/**
 * The names of second factors, one type each (issue 11, part 6):
 * - `FactorMethod`: a factor a user enrolls and a deployment offers (MFA_METHODS).
 * - `MfaMethod`: what can complete a sign-in or answer a re-authentication: an enrolled factor
 *   or a recovery code (the GraphQL enum `MfaMethod`).
 * - `PASSKEY` (issue 18) is an MfaMethod but no FactorMethod: it is enrolled by registering a
 *   passkey (passkeys/), not by startMfaEnrollment, and counts as enabled while the user has one.
 */
export const FACTOR_METHODS = ['TOTP', 'SMS', 'EMAIL'] as const;
export type FactorMethod = (typeof FACTOR_METHODS)[number];

export const MFA_METHODS = [...FACTOR_METHODS, 'PASSKEY', 'RECOVERY_CODE'] as const;
export type MfaMethod = (typeof MFA_METHODS)[number];
