/** The capability catalogue (README "Roles, capabilities and the admin API"); the admin role holds them all. */
export const CAPS = [
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
] as const;
export type Cap = (typeof CAPS)[number];

export const BUILTIN_ROLES = {
  user: { description: 'Every registered account', caps: [] as string[] },
  admin: { description: 'Full administrative access', caps: [...CAPS] as string[] },
} as const;
