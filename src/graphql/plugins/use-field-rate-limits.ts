import { defaultFieldResolver, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../../context.js';
import { enforceWindowLimit, FIELD_RATE_LIMITS } from '../../modules/abuse/field-limits.js';

const WRAPPED = Symbol('fieldRateLimit');

/**
 * Applies FIELD_RATE_LIMITS: each listed field's resolver first counts the call against its
 * limit for the client IP. Per field execution, not per document (the library's own plugin
 * counts every field of a document up front and drops the whole operation at the first
 * refusal, so of 30 aliased logins with a limit of 3 none would run, not 3). The schema
 * object is shared by every app in a process: fields are wrapped once and read their deps
 * from the request context.
 */
export function useFieldRateLimits(): Plugin {
  return {
    onSchemaChange({ schema }) {
      applyFieldRateLimits(schema);
    },
  };
}

function applyFieldRateLimits(schema: GraphQLSchema): void {
  for (const [coordinate, name] of Object.entries(FIELD_RATE_LIMITS)) {
    const [typeName, fieldName] = coordinate.split('.') as [string, string];
    const type = schema.getType(typeName);
    const field = isObjectType(type) ? type.getFields()[fieldName] : undefined;
    if (!field) throw new Error(`rate limit on unknown field ${coordinate}`);
    const marked = field as typeof field & { [WRAPPED]?: true };
    if (marked[WRAPPED]) continue;
    const resolve: GraphQLFieldResolver<unknown, Context> = field.resolve ?? defaultFieldResolver;
    field.resolve = async (root, args, ctx: Context, info) => {
      await enforceWindowLimit(ctx.deps, name, ctx.meta.ip ?? 'unknown', ctx.meta);
      return resolve(root, args, ctx, info);
    };
    marked[WRAPPED] = true;
  }
}
