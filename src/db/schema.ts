// The one place that gathers every module's tables (drizzle-kit and the Db type read it).
export { users } from '../modules/users/tables.js';
export { roles, userRoles } from '../modules/roles/tables.js';
export { auditEvents } from '../modules/audit/tables.js';
export { signingKeys } from '../modules/tokens/tables.js';
export { oneTimeTokens } from '../modules/verification/tables.js';
export { mfaFactors, recoveryCodes } from '../modules/mfa/tables.js';
export { outboundMessages } from '../modules/messaging/tables.js';
export { webhooks, webhookDeliveries, webhookCursor } from '../modules/webhooks/tables.js';
export { identities, oauthProviders } from '../modules/oauth/tables.js';
export { passkeys } from '../modules/passkeys/tables.js';
