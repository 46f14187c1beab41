import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { UserRef } from '../../graphql/refs.js';
import { PageInfoRef } from '../../graphql/pagination.js';
import type { PageInfo } from '../../shared/pagination.js';
import { requireRecentSignIn } from '../sessions/recent-sign-in.js';
import type { UserRow } from '../users/tables.js';
import { createUser, deleteUser, findUser, listUsers, revokeUserSessions, updateUser, usersOverview } from './service.js';

const UserConnection = builder.objectRef<{ nodes: UserRow[]; pageInfo: PageInfo; totalCount: number }>('UserConnection').implement({
  fields: (t) => ({
    nodes: t.field({ type: [UserRef], resolve: (c) => c.nodes }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (c) => c.pageInfo }),
    totalCount: t.exposeInt('totalCount', { description: 'Users matching the filter, on every page.' }),
  }),
});

const RoleCount = builder.objectRef<{ role: string; count: number }>('RoleCount').implement({
  fields: (t) => ({ role: t.exposeString('role'), count: t.exposeInt('count') }),
});

type Overview = Awaited<ReturnType<typeof usersOverview>>;
const UsersOverview = builder.objectRef<Overview>('UsersOverview').implement({
  fields: (t) => ({
    total: t.exposeInt('total'),
    emailVerified: t.exposeInt('emailVerified'),
    mfaEnabled: t.exposeInt('mfaEnabled'),
    disabled: t.exposeInt('disabled'),
    byRole: t.field({ type: [RoleCount], resolve: (o) => o.byRole }),
    registeredLast24h: t.exposeInt('registeredLast24h'),
    activeLast24h: t.exposeInt('activeLast24h', { description: 'Users who signed in within the last 24 hours.' }),
  }),
});

const UserFilter = builder.inputType('UserFilter', {
  fields: (t) => ({
    search: t.string({ description: 'Matches email or name, case-insensitively.' }),
    role: t.string(),
    disabled: t.boolean(),
  }),
});

const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    password: t.string({ description: 'Optional; without one the user is mailed a link to set it (APP_URL/reset-password?token=…, valid 24 hours).' }),
    name: t.string(),
    roles: t.stringList({ description: 'Needs roles:assign; `user` is always included.' }),
    caps: t.stringList({ description: 'Direct grants; needs roles:assign and holding each cap.' }),
    emailVerified: t.boolean(),
  }),
});

const UpdateUserInput = builder.inputType('UpdateUserInput', {
  fields: (t) => ({
    email: t.string({ description: "Setting it needs the admin's sign-in within the last 5 minutes (REAUTH_REQUIRED otherwise)." }),
    name: t.string(),
    roles: t.stringList({ description: 'Replaces the roles; needs roles:assign and holding the caps of added roles.' }),
    caps: t.stringList({ description: 'Replaces the direct grants; needs roles:assign and holding each added cap.' }),
    disabled: t.boolean({ description: 'Disabling ends every session of the user at once.' }),
    emailVerified: t.boolean(),
  }),
});

builder.queryFields((t) => ({
  users: t.field({
    type: UserConnection,
    description: 'Needs cap users:read. Ordered by sign-up; `first` is capped at 100.',
    authScopes: { cap: 'users:read' },
    args: { filter: t.arg({ type: UserFilter }), first: t.arg.int(), after: t.arg.string() },
    resolve: (_, args, ctx) => listUsers(ctx.deps, args.filter ?? {}, args.first, args.after),
  }),
  user: t.field({
    type: UserRef,
    nullable: true,
    description: "Needs cap users:read, or the caller's own id.",
    authScopes: (_, args) => ({ cap: 'users:read', self: String(args.id) }),
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => findUser(ctx.deps, String(id)),
  }),
  usersOverview: t.field({
    type: UsersOverview,
    description: 'Needs cap users:read.',
    authScopes: { cap: 'users:read' },
    resolve: (_, __, ctx) => usersOverview(ctx.deps),
  }),
}));

builder.mutationFields((t) => ({
  createUser: t.field({
    type: UserRef,
    description: 'Needs cap users:write.',
    authScopes: { cap: 'users:write' },
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: (_, { input }, ctx) => createUser(ctx.deps, requireAuth(ctx).userId, input, ctx.meta),
  }),
  updateUser: t.field({
    type: UserRef,
    description:
      'Needs cap users:write and every cap the account holds; changing roles or caps needs roles:assign. A new email voids the links mailed to the old one.',
    authScopes: { cap: 'users:write' },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateUserInput, required: true }) },
    resolve: (_, { id, input }, ctx) => {
      // Moving an account to another address hands over its password reset: ASVS 5.0 V7.5.1.
      if (input.email != null) requireRecentSignIn(ctx.deps, requireAuth(ctx));
      return updateUser(ctx.deps, requireAuth(ctx).userId, String(id), input, ctx.meta);
    },
  }),
  deleteUser: t.boolean({
    description: 'Needs cap users:delete and every cap the account holds.',
    authScopes: { cap: 'users:delete' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => deleteUser(ctx.deps, requireAuth(ctx).userId, String(id), ctx.meta),
  }),
  revokeUserSessions: t.boolean({
    description: 'Needs cap sessions:revoke and every cap the account holds.',
    authScopes: { cap: 'sessions:revoke' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => revokeUserSessions(ctx.deps, requireAuth(ctx).userId, String(id), ctx.meta),
  }),
}));
