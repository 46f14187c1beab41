import { builder } from '../../graphql/builder.js';

export const MFA_METHODS = ['TOTP', 'SMS', 'EMAIL', 'RECOVERY_CODE'] as const;
export type MfaMethodName = (typeof MFA_METHODS)[number];

export const MfaMethodEnum = builder.enumType('MfaMethod', {
  values: MFA_METHODS,
});
