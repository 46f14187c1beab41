/**
 * The capability catalogue as the README documents it, written out here (not imported from
 * src/modules/roles/caps.ts) so that a cap added or dropped in the code without the docs fails.
 */
export const CATALOGUE = [
  'users:read',
  'users:write',
  'users:delete',
  'roles:read',
  'roles:write',
  'roles:assign',
  'sessions:revoke',
  'audit:read',
  'analytics:read',
  'webhooks:read',
  'webhooks:write',
  'providers:read',
  'providers:write',
];
