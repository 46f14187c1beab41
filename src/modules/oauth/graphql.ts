import type { Context } from '../../context.js';
import { requireAuth } from '../../graphql/auth.js';
import { withAuthCookies } from '../../graphql/auth-cookies.js';
import { builder } from '../../graphql/builder.js';
import { AuthPayloadRef, UserRef } from '../../graphql/refs.js';
import { BadInputError } from '../../shared/errors.js';
import { bindingCookieName, bindingSetCookie } from './binding-cookie.js';
import { unlinkIdentity } from './identities.js';
import { deleteOAuthProvider, upsertOAuthProvider } from './providers.js';
import { listProviders } from './queries.js';
import { finishOAuth, identitiesOf, listEnabledProviders, startOAuth, startOAuthLink } from './service.js';
import type { IdentityRow, OAuthProviderRow } from './tables.js';

const OAuthProviderInfo = builder.objectRef<OAuthProviderRow>('OAuthProviderInfo').implement({
  description: 'A provider as a login page lists it (public).',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'URL-safe slug, as in /oauth/:name.' }),
    displayName: t.exposeString('displayName'),
  }),
});

const OAuthProvider = builder.objectRef<OAuthProviderRow>('OAuthProvider').implement({
  description: "A provider's configuration, for admins. The client secret is write-only and never returned.",
  fields: (t) => ({
    name: t.exposeString('name'),
    displayName: t.exposeString('displayName'),
    issuer: t.exposeString('issuer', {
      nullable: true,
      description: 'OIDC providers: the issuer, whose discovery document gives the endpoints. Null for plain OAuth 2.0 providers (e.g. GitHub).',
    }),
    authorizationEndpoint: t.exposeString('authorizationEndpoint', { nullable: true }),
    tokenEndpoint: t.exposeString('tokenEndpoint', { nullable: true }),
    userinfoEndpoint: t.exposeString('userinfoEndpoint', { nullable: true }),
    clientId: t.exposeString('clientId'),
    scopes: t.exposeStringList('scopes'),
    enabled: t.exposeBoolean('enabled'),
    linkByEmail: t.exposeBoolean('linkByEmail', {
      description: 'Sign a provider identity into an existing account with the same email, only when both the provider and the account have verified it.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const IdentityRef = builder.objectRef<IdentityRow>('Identity').implement({
  description: 'A provider identity linked to an account.',
  fields: (t) => ({
    id: t.exposeID('id'),
    provider: t.exposeString('provider'),
    subject: t.exposeString('subject', { description: "The provider's subject identifier (sub) for this account." }),
    email: t.exposeString('email', { nullable: true }),
    emailVerified: t.exposeBoolean('emailVerified'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
  }),
});

const OAuthStart = builder.objectRef<{ url: string }>('OAuthStart').implement({
  fields: (t) => ({ url: t.exposeString('url', { description: "Send the browser here (the provider's authorization URL)." }) }),
});

const OAuthProviderInput = builder.inputType('OAuthProviderInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    displayName: t.string(),
    issuer: t.string({ description: 'OIDC: the issuer URL (https; http only for loopback hosts). The endpoints come from its discovery document.' }),
    authorizationEndpoint: t.string({ description: 'Plain OAuth 2.0 (no issuer): the three endpoints.' }),
    tokenEndpoint: t.string(),
    userinfoEndpoint: t.string(),
    clientId: t.string({ required: true }),
    clientSecret: t.string({ description: 'Write-only. Omit on update to keep the stored one.' }),
    scopes: t.stringList(),
    enabled: t.boolean(),
    linkByEmail: t.boolean(),
  }),
});

builder.objectField(UserRef, 'identities', (t) =>
  t.field({
    type: [IdentityRef],
    description: "Linked provider identities (the caller's own, or with cap users:read).",
    authScopes: (user) => ({ self: user.id, cap: 'users:read' }),
    resolve: (user, _, ctx) => identitiesOf(ctx.deps, user.id),
  }),
);

builder.queryField('oauthProviders', (t) =>
  t.field({
    type: [OAuthProviderInfo],
    description: 'Enabled providers, for a login page. Public.',
    authScopes: { public: true },
    resolve: (_, __, ctx) => listEnabledProviders(ctx.deps),
  }),
);

builder.queryField('oauthProviderConfigs', (t) =>
  t.field({
    type: [OAuthProvider],
    description: 'Needs cap providers:read.',
    authScopes: { cap: 'providers:read' },
    resolve: (_, __, ctx) => listProviders(ctx.deps.db),
  }),
);

builder.mutationField('upsertOAuthProvider', (t) =>
  t.field({
    type: OAuthProvider,
    description: 'Needs cap providers:write. Creates or updates by name; an OIDC issuer is discovered at once (BAD_USER_INPUT when that fails).',
    authScopes: { cap: 'providers:write' },
    args: { input: t.arg({ type: OAuthProviderInput, required: true }) },
    resolve: (_, { input }, ctx) => upsertOAuthProvider(ctx.deps, requireAuth(ctx).userId, input, ctx.meta),
  }),
);

builder.mutationField('deleteOAuthProvider', (t) =>
  t.boolean({
    description: 'Needs cap providers:write. Linked identities of its users stay, unusable, until it is added again.',
    authScopes: { cap: 'providers:write' },
    args: { name: t.arg.string({ required: true }) },
    resolve: (_, { name }, ctx) => deleteOAuthProvider(ctx.deps, requireAuth(ctx).userId, name, ctx.meta),
  }),
);

/**
 * The flow's binding cookie goes on this response (the browser must then be the one that opens
 * the URL); a WebSocket operation has no response to carry it, so it is refused.
 */
async function withBindingCookie(ctx: Context, start: (binding: string | undefined) => Promise<{ url: string; binding: string }>) {
  if (!ctx.cookies) throw new BadInputError('Starting a provider sign-in needs an HTTP request (it sets a cookie)');
  const { url, binding } = await start(ctx.cookies.get(bindingCookieName(ctx.deps.config)));
  ctx.cookies.set(bindingCookieName(ctx.deps.config), bindingSetCookie(ctx.deps.config, binding));
  return { url };
}

builder.mutationField('startOAuth', (t) =>
  t.field({
    type: OAuthStart,
    description: 'Begins sign-in with a provider, as GET /oauth/:provider does. redirectTo must be under APP_URL (default APP_URL/oauth/callback).',
    authScopes: { public: true },
    args: { provider: t.arg.string({ required: true }), redirectTo: t.arg.string() },
    resolve: (_, args, ctx) => withBindingCookie(ctx, (binding) => startOAuth(ctx.deps, { ...args, binding })),
  }),
);

builder.mutationField('finishOAuth', (t) =>
  t.field({
    type: AuthPayloadRef,
    description: 'Completes sign-in with the one-time code that the callback put on the redirectTo URL. mfaRequired as for login.',
    authScopes: { public: true },
    args: { code: t.arg.string({ required: true }), setCookie: t.arg.boolean({ description: 'Also set the tokens as HttpOnly cookies, as login does.' }) },
    resolve: (_, args, ctx) =>
      withAuthCookies(
        ctx,
        args.setCookie,
        () => finishOAuth(ctx.deps, args.code, ctx.meta),
        (auth) => auth,
      ),
  }),
);

builder.mutationField('startOAuthLink', (t) =>
  t.field({
    type: OAuthStart,
    description:
      'Signed-in caller who re-authenticated in the last 5 minutes: begins linking a provider identity to this account. The callback redirects to redirectTo with ?linked=<provider> or ?error=<ErrorCode>.',
    authScopes: { authenticated: true },
    args: { provider: t.arg.string({ required: true }), redirectTo: t.arg.string() },
    resolve: (_, args, ctx) => withBindingCookie(ctx, (binding) => startOAuthLink(ctx.deps, requireAuth(ctx), { ...args, binding })),
  }),
);

builder.mutationField('unlinkIdentity', (t) =>
  t.boolean({
    description: "Removes one of the caller's identities; refused (BAD_USER_INPUT) when it is the last way to sign in.",
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => unlinkIdentity(ctx.deps, requireAuth(ctx).userId, String(id), ctx.meta),
  }),
);
