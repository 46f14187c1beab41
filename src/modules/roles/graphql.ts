import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { deleteRole, roles, upsertRole } from './service.js';
import type { RoleRow } from './tables.js';

const RoleRef = builder.objectRef<RoleRow>('Role').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    caps: t.exposeStringList('caps'),
    builtin: t.exposeBoolean('builtin', { description: 'Built-in roles (user, admin) cannot be deleted; admin always holds every cap.' }),
  }),
});

builder.queryField('roles', (t) =>
  t.field({
    type: [RoleRef],
    description: 'Needs cap roles:read.',
    authScopes: { cap: 'roles:read' },
    resolve: (_, __, ctx) => roles(ctx.deps),
  }),
);

builder.mutationField('upsertRole', (t) =>
  t.field({
    type: RoleRef,
    description: 'Needs cap roles:write, and the caller must hold every cap the role has before and after the change.',
    authScopes: { cap: 'roles:write' },
    args: {
      name: t.arg.string({ required: true }),
      caps: t.arg.stringList({ required: true }),
      description: t.arg.string(),
    },
    resolve: (_, args, ctx) => upsertRole(ctx.deps, requireAuth(ctx).userId, args, ctx.meta),
  }),
);

builder.mutationField('deleteRole', (t) =>
  t.boolean({
    description: 'Needs cap roles:write and every cap the role has; refused for built-in roles.',
    authScopes: { cap: 'roles:write' },
    args: { name: t.arg.string({ required: true }) },
    resolve: (_, { name }, ctx) => deleteRole(ctx.deps, requireAuth(ctx).userId, name, ctx.meta),
  }),
);
