import { requireAuth } from '../../graphql/auth.js';
import { withAuthCookies } from '../../graphql/auth-cookies.js';
import { builder } from '../../graphql/builder.js';
import { AuthPayloadRef, UserRef } from '../../graphql/refs.js';
import { requireRecentSignIn } from '../sessions/recent-sign-in.js';
import { finishPasskeyLogin, startPasskeyLogin } from './login.js';
import { deletePasskey, finishPasskeyRegistration, getPasskeys, startPasskeyRegistration } from './service.js';
import type { PasskeyRow } from './tables.js';

const PasskeyRef = builder.objectRef<PasskeyRow>('Passkey').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    backedUp: t.exposeBoolean('backedUp', { description: 'The credential is synced (backup state), as the authenticator reported it.' }),
  }),
});

builder.objectField(UserRef, 'passkeys', (t) =>
  t.field({
    type: [PasskeyRef],
    description: "The caller's own, or with cap users:read.",
    authScopes: (user) => ({ self: user.id, cap: 'users:read' }),
    resolve: (user, _, ctx) => getPasskeys(ctx.deps, user.id),
  }),
);

builder.mutationField('startPasskeyRegistration', (t) =>
  t.field({
    type: 'JSON',
    description:
      'Signed-in caller: PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create (challenge valid 5 minutes, once). Needs a sign-in within the last 5 minutes (REAUTH_REQUIRED otherwise).',
    authScopes: { authenticated: true },
    resolve: (_, __, ctx) => {
      const auth = requireAuth(ctx);
      requireRecentSignIn(ctx.deps, auth);
      return startPasskeyRegistration(ctx.deps, auth);
    },
  }),
);

builder.mutationField('finishPasskeyRegistration', (t) =>
  t.field({
    type: PasskeyRef,
    description:
      'The RegistrationResponseJSON from the browser, answering the challenge of this session. INVALID_TOKEN for an unknown, used or expired challenge; INVALID_CODE for a response that does not verify (origin, RP ID).',
    authScopes: { authenticated: true },
    args: { response: t.arg({ type: 'JSON', required: true }), name: t.arg.string({ description: 'A label such as "Work laptop" (at most 100 characters).' }) },
    // No recent-sign-in check of its own: the challenge, bound to this session, came from a recent one and lives 5 minutes.
    resolve: (_, args, ctx) => {
      const auth = requireAuth(ctx);
      return finishPasskeyRegistration(ctx.deps, auth, { response: args.response, name: args.name }, ctx.meta);
    },
  }),
);

builder.mutationField('startPasskeyLogin', (t) =>
  t.field({
    type: 'JSON',
    description:
      'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get; without email, for discoverable credentials. With the pending token from login: the second factor (its passkeys).',
    authScopes: { public: true },
    args: { email: t.arg.string() },
    resolve: (_, args, ctx) => startPasskeyLogin(ctx.deps, ctx.auth, args),
  }),
);

builder.mutationField('finishPasskeyLogin', (t) =>
  t.field({
    type: AuthPayloadRef,
    description:
      'The AuthenticationResponseJSON from the browser. A user-verified passkey is a full sign-in that counts as multi-factor (amr includes mfa). With the pending token it completes that login. INVALID_TOKEN for an unknown, used or expired challenge; INVALID_CODE for a passkey that does not verify.',
    authScopes: { public: true },
    args: { response: t.arg({ type: 'JSON', required: true }), setCookie: t.arg.boolean() },
    resolve: (_, args, ctx) =>
      withAuthCookies(
        ctx,
        args.setCookie,
        () => finishPasskeyLogin(ctx.deps, ctx.auth, args.response, ctx.meta),
        (auth) => auth,
      ),
  }),
);

builder.mutationField('deletePasskey', (t) =>
  t.boolean({
    description: "Removes one of the caller's passkeys (NOT_FOUND for any other id). Needs a sign-in within the last 5 minutes (REAUTH_REQUIRED otherwise).",
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => {
      const auth = requireAuth(ctx);
      requireRecentSignIn(ctx.deps, auth);
      return deletePasskey(ctx.deps, auth.userId, String(args.id), ctx.meta);
    },
  }),
);
