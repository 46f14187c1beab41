import type { Context } from '../../context.js';
import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { MfaMethodEnum, UserRef } from '../../graphql/refs.js';
import type { FactorMethod, MfaMethod } from '../../shared/mfa-methods.js';
import { accessLoader } from '../roles/loader.js';
import type { Access } from '../roles/queries.js';
import { deleteAccount, getUser, updateProfile } from './service.js';
import type { UserRow } from './tables.js';

/**
 * Roles and caps as they are now, read once per User object (both fields share the read).
 * Not from ctx.access(): that is the caller's access when the request began, and a mutation
 * (updateUser on oneself, say) may have changed it since. The reads of one request are batched
 * (`users(first: 100) { nodes { roles caps } }` is one query, not 100).
 */
const accessByRow = new WeakMap<UserRow, Promise<Access>>();
const accessOf = (user: UserRow, ctx: Context) => {
  let access = accessByRow.get(user);
  if (!access) accessByRow.set(user, (access = accessLoader(ctx).load(user.id)));
  return access;
};

UserRef.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    emailVerified: t.exposeBoolean('emailVerified'),
    phone: t.exposeString('phone', { nullable: true }),
    phoneVerified: t.exposeBoolean('phoneVerified'),
    name: t.exposeString('name', { nullable: true }),
    firstName: t.exposeString('firstName', { nullable: true }),
    lastName: t.exposeString('lastName', { nullable: true }),
    bio: t.exposeString('bio', { nullable: true }),
    language: t.exposeString('language', { nullable: true }),
    avatarUrl: t.exposeString('avatarUrl', { nullable: true }),
    roles: t.stringList({ description: 'Role names held by the user.', resolve: async (u, _, ctx) => (await accessOf(u, ctx)).roles }),
    caps: t.stringList({
      description: "Effective capabilities: the union of the roles' caps and direct grants.",
      resolve: async (u, _, ctx) => (await accessOf(u, ctx)).caps,
    }),
    mfaEnabled: t.boolean({ description: 'True while at least one second factor is enabled.', resolve: (u) => u.mfaMethods.length > 0 }),
    mfaMethods: t.field({
      type: [MfaMethodEnum],
      description: 'The enabled second factors, and RECOVERY_CODE while MFA is on.',
      resolve: (u) => (u.mfaMethods.length ? [...(u.mfaMethods as FactorMethod[]), 'RECOVERY_CODE' as const] : []),
    }),
    defaultMfaMethod: t.field({
      type: MfaMethodEnum,
      nullable: true,
      description: 'The factor a login asks for first (its code is sent at once for SMS and EMAIL).',
      resolve: (u) => u.defaultMfaMethod as MfaMethod | null,
    }),
    disabled: t.exposeBoolean('disabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    lastLoginAt: t.expose('lastLoginAt', { type: 'DateTime', nullable: true }),
  }),
});

const UpdateProfileInput = builder.inputType('UpdateProfileInput', {
  description: 'Omitted fields stay as they are; null or an empty string clears a field.',
  fields: (t) => ({
    name: t.string(),
    firstName: t.string(),
    lastName: t.string(),
    bio: t.string(),
    language: t.string({ description: 'A BCP 47 tag, e.g. en or pt-BR.' }),
    avatarUrl: t.string({ description: 'An http(s) URL.' }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: UserRef,
    description: 'The caller; UNAUTHENTICATED without a valid, fully verified access token.',
    authScopes: { authenticated: true },
    resolve: (_, __, ctx) => getUser(ctx.deps, requireAuth(ctx).userId),
  }),
);

builder.mutationField('updateProfile', (t) =>
  t.field({
    type: UserRef,
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: UpdateProfileInput, required: true }) },
    resolve: (_, { input }, ctx) => updateProfile(ctx.deps, requireAuth(ctx).userId, input, ctx.meta),
  }),
);

builder.mutationField('deleteAccount', (t) =>
  t.boolean({
    description: "Deletes the caller's account; needs the current password. Ends every session.",
    authScopes: { authenticated: true },
    args: { password: t.arg.string({ required: true }) },
    resolve: (_, { password }, ctx) => deleteAccount(ctx.deps, requireAuth(ctx).userId, password, ctx.meta),
  }),
);
