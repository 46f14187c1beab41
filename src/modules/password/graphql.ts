import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { requestPasswordReset, resetPassword } from './reset.js';
import { changePassword } from './service.js';

builder.mutationField('changePassword', (t) =>
  t.boolean({
    description: 'Needs the current password; ends every other session of the caller.',
    authScopes: { authenticated: true },
    args: { currentPassword: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
    resolve: (_, args, ctx) => changePassword(ctx.deps, requireAuth(ctx), args, ctx.meta),
  }),
);

builder.mutationField('requestPasswordReset', (t) =>
  t.boolean({
    description:
      'Mails a link to APP_URL/reset-password?token=… (valid 1 hour, once) when the address belongs to an enabled account. Always true, whether or not the account exists; limited per address and per IP alike.',
    authScopes: { public: true },
    args: {
      email: t.arg.string({ required: true }),
      captchaToken: t.arg.string({ description: 'The CAPTCHA token, when CAPTCHA_REQUIRED_FOR includes requestPasswordReset.' }),
    },
    resolve: (_, args, ctx) => requestPasswordReset(ctx.deps, args, ctx.meta),
  }),
);

builder.mutationField('resetPassword', (t) =>
  t.boolean({
    description:
      'Sets a new password with the token of a reset link. Ends every session of the account and does not sign in (call login next); MFA stays on. INVALID_TOKEN when the link is bad, used or expired; WEAK_PASSWORD leaves the link usable.',
    authScopes: { public: true },
    args: { token: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
    resolve: (_, args, ctx) => resetPassword(ctx.deps, args, ctx.meta),
  }),
);
