import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { changePassword } from './service.js';

builder.mutationField('changePassword', (t) =>
  t.boolean({
    description: 'Needs the current password; ends every other session of the caller.',
    authScopes: { authenticated: true },
    args: { currentPassword: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
    resolve: (_, args, ctx) => changePassword(ctx.deps, requireAuth(ctx), args, ctx.meta),
  }),
);
