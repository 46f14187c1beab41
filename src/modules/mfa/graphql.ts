import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { AuthPayloadRef, MfaMethodEnum, UserRef } from '../../graphql/refs.js';
import { withAuthCookies } from '../../graphql/auth-cookies.js';
import { requireRecentSignIn } from '../sessions/recent-sign-in.js';
import type { UserRow } from '../users/tables.js';
import { sendMfaCode, verify2fa } from './challenge.js';
import {
  confirmMfaEnrollment,
  regenerateRecoveryCodes,
  removeMfaMethod,
  resetUserMfa,
  setDefaultMfaMethod,
  startMfaEnrollment,
  type Enrollment,
} from './service.js';

const MfaEnrollment = builder.objectRef<Enrollment>('MfaEnrollment').implement({
  fields: (t) => ({
    method: t.field({ type: MfaMethodEnum, resolve: (e) => e.method }),
    secret: t.exposeString('secret', { nullable: true, description: 'TOTP only: the base32 secret and the otpauth:// URI for authenticator apps.' }),
    otpauthUrl: t.exposeString('otpauthUrl', { nullable: true }),
    qrCode: t.exposeString('qrCode', { nullable: true, description: 'TOTP only: a QR code of otpauthUrl as a data: URL (image/svg+xml).' }),
  }),
});

const MfaEnrollmentPayload = builder.objectRef<{ user: UserRow; recoveryCodes: string[] | null }>('MfaEnrollmentPayload').implement({
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (p) => p.user }),
    recoveryCodes: t.stringList({
      nullable: true,
      description: 'Returned once, when the first factor is enabled; store them, they are not shown again.',
      resolve: (p) => p.recoveryCodes,
    }),
  }),
});

const Verify2faInput = builder.inputType('Verify2faInput', {
  fields: (t) => ({
    method: t.field({ type: MfaMethodEnum, required: true }),
    code: t.string({
      required: true,
      description: 'The 6-digit code (TOTP, SMS, EMAIL) or a recovery code such as 7K3Q-M9XD-2HTW-P4RB (dashes and case do not matter).',
    }),
    setCookie: t.boolean({ description: 'Also set the tokens as HttpOnly cookies, as login does.' }),
  }),
});

builder.mutationField('verify2fa', (t) =>
  t.field({
    type: AuthPayloadRef,
    description:
      'Called with the pending access token from login: the second factor. Returns full tokens (amr names both factors). INVALID_CODE when the code is wrong; the fifth wrong code voids the pending token (UNAUTHENTICATED afterwards: sign in again).',
    authScopes: { mfaPending: true },
    args: { input: t.arg({ type: Verify2faInput, required: true }) },
    resolve: (_, { input }, ctx) =>
      withAuthCookies(
        ctx,
        input.setCookie,
        () => verify2fa(ctx.deps, requireAuth(ctx), input, ctx.meta),
        (auth) => auth,
      ),
  }),
);

builder.mutationField('sendMfaCode', (t) =>
  t.boolean({
    description:
      'Sends a code by SMS or email (valid 5 minutes): with the pending access token to finish login, or with a full one for re-authentication (removeMfaMethod, regenerateRecoveryCodes). At most 1 a minute and 5 an hour per recipient.',
    authScopes: { authenticated: true, mfaPending: true },
    args: { method: t.arg({ type: MfaMethodEnum, required: true }) },
    resolve: (_, args, ctx) => sendMfaCode(ctx.deps, requireAuth(ctx), args.method, ctx.meta),
  }),
);

builder.mutationField('startMfaEnrollment', (t) =>
  t.field({
    type: MfaEnrollment,
    description:
      'TOTP: returns the secret; SMS (phone required unless verified) and EMAIL: sends a code. Confirm with confirmMfaEnrollment. Only methods in MFA_METHODS. Needs a sign-in within the last 5 minutes (REAUTH_REQUIRED otherwise: sign in again).',
    authScopes: { authenticated: true },
    args: { method: t.arg({ type: MfaMethodEnum, required: true }), phone: t.arg.string() },
    resolve: (_, args, ctx) => {
      requireRecentSignIn(ctx.deps, requireAuth(ctx));
      return startMfaEnrollment(ctx.deps, requireAuth(ctx).userId, args, ctx.meta);
    },
  }),
);

builder.mutationField('confirmMfaEnrollment', (t) =>
  t.field({
    type: MfaEnrollmentPayload,
    description:
      'Enables the factor with a code from it. The first factor turns MFA on and returns 10 recovery codes, once. Needs a sign-in within the last 5 minutes (REAUTH_REQUIRED otherwise).',
    authScopes: { authenticated: true },
    args: {
      method: t.arg({ type: MfaMethodEnum, required: true }),
      code: t.arg.string({ required: true }),
      endOtherSessions: t.arg.boolean({
        description: 'Also end every other session of the account (not this one), e.g. one opened before MFA was on. Default false.',
      }),
    },
    resolve: (_, args, ctx) => {
      const auth = requireAuth(ctx);
      requireRecentSignIn(ctx.deps, auth);
      return confirmMfaEnrollment(ctx.deps, auth.userId, { ...args, keepSessionId: auth.sessionId }, ctx.meta);
    },
  }),
);

builder.mutationField('removeMfaMethod', (t) =>
  t.field({
    type: UserRef,
    description:
      'Re-authentication: the password and a current code from any enabled factor (or a recovery code). Removing the last factor turns MFA off and deletes the recovery codes.',
    authScopes: { authenticated: true },
    args: {
      method: t.arg({ type: MfaMethodEnum, required: true }),
      password: t.arg.string({ required: true }),
      code: t.arg.string({ required: true }),
      endOtherSessions: t.arg.boolean({
        description: 'Also end every other session of the account (not this one), e.g. one the removed factor signed in. Default false.',
      }),
    },
    resolve: (_, args, ctx) => {
      const auth = requireAuth(ctx);
      return removeMfaMethod(ctx.deps, auth.userId, { ...args, keepSessionId: auth.sessionId }, ctx.meta);
    },
  }),
);

builder.mutationField('setDefaultMfaMethod', (t) =>
  t.field({
    type: UserRef,
    description: 'The factor login asks for first; it must be enabled (not RECOVERY_CODE).',
    authScopes: { authenticated: true },
    args: { method: t.arg({ type: MfaMethodEnum, required: true }) },
    resolve: (_, args, ctx) => setDefaultMfaMethod(ctx.deps, requireAuth(ctx).userId, args.method, ctx.meta),
  }),
);

builder.mutationField('regenerateRecoveryCodes', (t) =>
  t.stringList({
    description: 'Re-authentication as for removeMfaMethod. Returns new codes; the old ones stop working.',
    authScopes: { authenticated: true },
    args: { password: t.arg.string({ required: true }), code: t.arg.string({ required: true }) },
    resolve: (_, args, ctx) => regenerateRecoveryCodes(ctx.deps, requireAuth(ctx).userId, args, ctx.meta),
  }),
);

builder.mutationField('resetUserMfa', (t) =>
  t.field({
    type: UserRef,
    description:
      "Needs cap users:write. Turns another user's MFA off (every factor and recovery code), for a user who lost them all: they sign in with the password and enroll again. Audited as mfa.disabled with the admin as actor.",
    authScopes: { cap: 'users:write' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => resetUserMfa(ctx.deps, requireAuth(ctx).userId, String(args.id), ctx.meta),
  }),
);
