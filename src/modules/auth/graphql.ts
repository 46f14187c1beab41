import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { BadInputError } from '../../shared/errors.js';
import { MfaMethodEnum } from '../mfa/graphql.js';
import type { AuthResult } from '../sessions/service.js';
import { UserRef } from '../users/graphql.js';
import type { UserRow } from '../users/tables.js';
import { login, logout, refresh, register } from './service.js';

const AuthPayload = builder.objectRef<AuthResult>('AuthPayload').implement({
  fields: (t) => ({
    accessToken: t.exposeString('accessToken', {
      description: 'Bearer access token (JWT). While mfaRequired is true it is a pending token: it only allows verify2fa, sendMfaCode and logout.',
    }),
    accessTokenExpiresAt: t.expose('accessTokenExpiresAt', { type: 'DateTime' }),
    refreshToken: t.exposeString('refreshToken', {
      nullable: true,
      description: 'Opaque, single-use, rotated on every refresh. Null while mfaRequired is true.',
    }),
    refreshTokenExpiresAt: t.expose('refreshTokenExpiresAt', { type: 'DateTime', nullable: true }),
    mfaRequired: t.exposeBoolean('mfaRequired'),
    mfaMethods: t.field({ type: [MfaMethodEnum], resolve: (a) => a.mfaMethods as Array<'TOTP' | 'SMS' | 'EMAIL' | 'RECOVERY_CODE'> }),
    defaultMfaMethod: t.field({
      type: MfaMethodEnum,
      nullable: true,
      resolve: (a) => a.defaultMfaMethod as 'TOTP' | 'SMS' | 'EMAIL' | 'RECOVERY_CODE' | null,
    }),
    user: t.field({ type: UserRef, resolve: (a) => a.user }),
  }),
});

const RegisterPayload = builder.objectRef<{ user: UserRow; auth: AuthResult | null }>('RegisterPayload').implement({
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (p) => p.user }),
    auth: t.field({
      type: AuthPayload,
      nullable: true,
      description: "The new account's first session. (Null once email verification or passwordless sign-up apply; neither ships in this release.)",
      resolve: (p) => p.auth,
    }),
  }),
});

const RegisterInput = builder.inputType('RegisterInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    password: t.string({ description: 'Required in this release: passwordless sign-up arrives with the email flows.' }),
    name: t.string(),
    firstName: t.string(),
    lastName: t.string(),
    language: t.string(),
    phone: t.string(),
    captchaToken: t.string({ description: 'Reserved for CAPTCHA verification (not in this release).' }),
    setCookie: t.boolean({ description: 'Reserved for HttpOnly cookie delivery (not in this release; true is refused).' }),
  }),
});

const LoginInput = builder.inputType('LoginInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    password: t.string({ required: true }),
    captchaToken: t.string(),
    setCookie: t.boolean(),
  }),
});

/** Cookie delivery arrives with the hardening issue; until then saying so beats silently ignoring it. */
function refuseCookies(setCookie: boolean | null | undefined) {
  if (setCookie) throw new BadInputError('setCookie is not supported by this server yet', 'setCookie');
}

builder.mutationField('register', (t) =>
  t.field({
    type: RegisterPayload,
    authScopes: { public: true },
    args: { input: t.arg({ type: RegisterInput, required: true }) },
    resolve: (_, { input }, ctx) => {
      refuseCookies(input.setCookie);
      return register(ctx.deps, input, ctx.meta);
    },
  }),
);

builder.mutationField('login', (t) =>
  t.field({
    type: AuthPayload,
    authScopes: { public: true },
    args: { input: t.arg({ type: LoginInput, required: true }) },
    resolve: (_, { input }, ctx) => {
      refuseCookies(input.setCookie);
      return login(ctx.deps, input, ctx.meta);
    },
  }),
);

builder.mutationField('refreshToken', (t) =>
  t.field({
    type: AuthPayload,
    description: 'Rotates the given refresh token: the old one stops working (after a short grace) and a new pair is returned.',
    authScopes: { public: true },
    args: { refreshToken: t.arg.string() },
    resolve: (_, args, ctx) => refresh(ctx.deps, args.refreshToken, ctx.meta),
  }),
);

builder.mutationField('logout', (t) =>
  t.boolean({
    description: 'Ends this session, or every session of the caller with allSessions: true.',
    authScopes: { authenticated: true, mfaPending: true },
    args: { allSessions: t.arg.boolean() },
    resolve: (_, args, ctx) => logout(ctx.deps, requireAuth(ctx), args.allSessions ?? false, ctx.meta),
  }),
);
