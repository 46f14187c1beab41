import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { UserRef } from '../../graphql/refs.js';
import { requestEmailVerification, requestPhoneVerification, verifyEmail, verifyPhone } from './service.js';

builder.mutationField('requestEmailVerification', (t) =>
  t.boolean({
    description:
      'Mails the caller a link to APP_URL/verify-email?token=… (valid 24 hours, once; a new one voids the older). BAD_USER_INPUT when the address is verified already; at most 1 a minute and 5 an hour.',
    authScopes: { authenticated: true },
    resolve: (_, _args, ctx) => requestEmailVerification(ctx.deps, requireAuth(ctx).userId, ctx.meta),
  }),
);

builder.mutationField('verifyEmail', (t) =>
  t.boolean({
    description:
      'Confirms the address with the token of a verification link; no session needed. INVALID_TOKEN when it is bad, used, expired, or for an address the account no longer has.',
    authScopes: { public: true },
    args: { token: t.arg.string({ required: true }) },
    resolve: (_, args, ctx) => verifyEmail(ctx.deps, args.token, ctx.meta),
  }),
);

builder.mutationField('requestPhoneVerification', (t) =>
  t.boolean({
    description: 'Texts a 6-digit code (valid 5 minutes, 5 tries) to a number in international format; verifyPhone makes it the verified phone of the caller.',
    authScopes: { authenticated: true },
    args: { phone: t.arg.string({ required: true }) },
    resolve: (_, args, ctx) => requestPhoneVerification(ctx.deps, requireAuth(ctx).userId, args.phone, ctx.meta),
  }),
);

builder.mutationField('verifyPhone', (t) =>
  t.field({
    type: UserRef,
    description: 'Confirms the code of requestPhoneVerification. INVALID_CODE when it is wrong, expired, used, or after 5 wrong tries (request a new one).',
    authScopes: { authenticated: true },
    args: { code: t.arg.string({ required: true }) },
    resolve: (_, args, ctx) => verifyPhone(ctx.deps, requireAuth(ctx).userId, args.code, ctx.meta),
  }),
);
