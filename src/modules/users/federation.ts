import type { Context } from '../../context.js';
import { builder, unauthorizedError } from '../../graphql/builder.js';
import { UserRef } from '../../graphql/refs.js';
import { findUser } from '../admin/service.js';
import type { UserRow } from './tables.js';

/**
 * `User @key(fields: "id")` for a supergraph (FEDERATION, graphql/subgraph.ts). `_entities` is
 * reached through the gateway with the caller's forwarded Authorization header and must not be
 * a way around `user(id)`: the same rule (the caller, or cap users:read), the same errors, and
 * null for a refused representation, never a field of it (ASVS 5.0 V8.2.2: object-level access).
 */
builder.asEntity(UserRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: async (ref, ctx: Context): Promise<UserRow | null> => {
    const id = String(ref.id);
    const full = !!ctx.auth && !ctx.auth.pending;
    const allowed = full && (ctx.auth?.userId === id || (await ctx.access()).caps.includes('users:read'));
    if (!allowed) throw unauthorizedError(ctx);
    return findUser(ctx.deps, id);
  },
});
