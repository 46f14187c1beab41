import { builder } from '../../graphql/builder.js';

export const MfaMethodEnum = builder.enumType('MfaMethod', {
  values: ['TOTP', 'SMS', 'EMAIL', 'RECOVERY_CODE'] as const,
});
