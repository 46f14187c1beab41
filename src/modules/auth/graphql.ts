import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { AuthPayloadRef, MfaMethodEnum, UserRef } from '../../graphql/refs.js';
import { clearAuthCookies, refreshWithCookies, withAuthCookies } from '../../graphql/auth-cookies.js';
import type { AuthResult } from '../sessions/auth-payload.js';
import { refreshSession } from '../sessions/refresh.js';
import { logout } from '../sessions/service.js';
import type { UserRow } from '../users/tables.js';
import { loginWithMagicLink, requestMagicLink } from './magic-link.js';
import { login, register } from './service.js';

AuthPayloadRef.implement({
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
    mfaMethods: t.field({ type: [MfaMethodEnum], resolve: (a) => a.mfaMethods }),
    defaultMfaMethod: t.field({
      type: MfaMethodEnum,
      nullable: true,
      resolve: (a) => a.defaultMfaMethod,
    }),
    user: t.field({ type: UserRef, resolve: (a) => a.user }),
  }),
});

const RegisterPayload = builder.objectRef<{ user: UserRow; auth: AuthResult | null }>('RegisterPayload').implement({
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (p) => p.user }),
    auth: t.field({
      type: AuthPayloadRef,
      nullable: true,
      description:
        "The new account's first session. Null when no password was given (a link to set one is mailed) or when REQUIRE_EMAIL_VERIFICATION is on (a verification link is mailed; login answers EMAIL_NOT_VERIFIED until it is used).",
      resolve: (p) => p.auth,
    }),
  }),
});

const RegisterInput = builder.inputType('RegisterInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    password: t.string({
      description: 'When omitted a random password is set and a link to choose one (APP_URL/reset-password?token=…, valid 24 hours) is mailed.',
    }),
    name: t.string(),
    firstName: t.string(),
    lastName: t.string(),
    language: t.string(),
    phone: t.string({ description: 'International format (+ and country code); stored as E.164, unverified until requestPhoneVerification/verifyPhone.' }),
    captchaToken: t.string({ description: 'The CAPTCHA token, when CAPTCHA_REQUIRED_FOR includes register.' }),
    setCookie: t.boolean({
      description:
        'Also set the tokens as HttpOnly cookies (HTTP only, refused over WebSocket); they stay in the payload too. Requests authenticated by cookie must send the x-graphql-yoga-csrf header.',
    }),
  }),
});

const LoginInput = builder.inputType('LoginInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    password: t.string({ required: true }),
    captchaToken: t.string({ description: 'Needed after LOGIN_CAPTCHA_AFTER failed logins of the account (CAPTCHA_REQUIRED), when a CAPTCHA is configured.' }),
    setCookie: t.boolean({
      description:
        'Also set the tokens as HttpOnly cookies (HTTP only, refused over WebSocket); they stay in the payload too. Requests authenticated by cookie must send the x-graphql-yoga-csrf header.',
    }),
  }),
});

builder.mutationField('register', (t) =>
  t.field({
    type: RegisterPayload,
    authScopes: { public: true },
    args: { input: t.arg({ type: RegisterInput, required: true }) },
    resolve: (_, { input }, ctx) =>
      withAuthCookies(
        ctx,
        input.setCookie,
        () => register(ctx.deps, input, ctx.meta),
        (result) => result.auth,
      ),
  }),
);

builder.mutationField('login', (t) =>
  t.field({
    type: AuthPayloadRef,
    authScopes: { public: true },
    args: { input: t.arg({ type: LoginInput, required: true }) },
    resolve: (_, { input }, ctx) =>
      withAuthCookies(
        ctx,
        input.setCookie,
        () => login(ctx.deps, input, ctx.meta),
        (auth) => auth,
      ),
  }),
);

builder.mutationField('refreshToken', (t) =>
  t.field({
    type: AuthPayloadRef,
    description:
      'Takes the refresh token from the argument, else from the refresh cookie (which needs the x-graphql-yoga-csrf header), and rotates it: the old one stops working (after a short grace) and a new pair is returned. A token from the cookie gets its successors back as cookies.',
    authScopes: { public: true },
    args: {
      refreshToken: t.arg.string(),
      setCookie: t.arg.boolean({ description: 'Also set the new tokens as HttpOnly cookies. Implied when the token came from the cookie.' }),
    },
    resolve: (_, args, ctx) => refreshWithCookies(ctx, args.refreshToken, args.setCookie, (token) => refreshSession(ctx.deps, token, ctx.meta)),
  }),
);

builder.mutationField('logout', (t) =>
  t.boolean({
    description: 'Ends this session, or every session of the caller with allSessions: true. Clears the token cookies, however the caller authenticated.',
    authScopes: { authenticated: true, mfaPending: true },
    args: { allSessions: t.arg.boolean() },
    resolve: async (_, args, ctx) => {
      const done = await logout(ctx.deps, requireAuth(ctx), args.allSessions ?? false, ctx.meta);
      clearAuthCookies(ctx);
      return done;
    },
  }),
);

builder.mutationField('requestMagicLink', (t) =>
  t.boolean({
    description:
      'Mails a sign-in link to APP_URL/magic-link?token=… (valid 15 minutes, once) when the address belongs to an enabled account. Always true, whether or not the account exists; limited per address and per IP alike.',
    authScopes: { public: true },
    args: {
      email: t.arg.string({ required: true }),
      captchaToken: t.arg.string({ description: 'The CAPTCHA token, when CAPTCHA_REQUIRED_FOR includes requestMagicLink.' }),
    },
    resolve: (_, args, ctx) => requestMagicLink(ctx.deps, args, ctx.meta),
  }),
);

builder.mutationField('loginWithMagicLink', (t) =>
  t.field({
    type: AuthPayloadRef,
    description:
      'Signs in with the token of a magic link (once). The link proves the address, so the email counts as verified. INVALID_TOKEN when it is bad, used or expired.',
    authScopes: { public: true },
    args: {
      token: t.arg.string({ required: true }),
      setCookie: t.arg.boolean({ description: 'Also set the tokens as HttpOnly cookies, as login does.' }),
    },
    resolve: (_, args, ctx) =>
      withAuthCookies(
        ctx,
        args.setCookie,
        () => loginWithMagicLink(ctx.deps, args.token, ctx.meta),
        (auth) => auth,
      ),
  }),
);
