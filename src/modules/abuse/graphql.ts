import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { unlockUser } from './unlock.js';

builder.mutationField('unlockUser', (t) =>
  t.boolean({
    description: "Needs cap users:write. Clears the account's failed-login streak: its lockout and login delays end.",
    authScopes: { cap: 'users:write' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => unlockUser(ctx.deps, requireAuth(ctx).userId, String(id), ctx.meta),
  }),
);
