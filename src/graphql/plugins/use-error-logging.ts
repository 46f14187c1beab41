import type { Plugin } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';
import type { Context } from '../../context.js';
import type { Deps } from '../../deps.js';
import { isUnexpected } from '../errors.js';

/** Errors already logged with their request id; yoga's own logger skips them. */
export const loggedErrors = new WeakSet<object>();

/**
 * Logs every unexpected error (the ones the client sees masked) with the request id, so an
 * INTERNAL_SERVER_ERROR report can be traced. Expected outcomes (DomainErrors) are not errors.
 */
export function useErrorLogging(deps: Pick<Deps, 'logger'>): Plugin<Context> {
  const log = (errors: readonly GraphQLError[] | undefined, ctx: Context) => {
    for (const error of errors ?? []) {
      if (isUnexpected(error)) {
        loggedErrors.add(error.originalError ?? error);
        deps.logger.error({ reqId: ctx.meta?.requestId, err: error.originalError ?? error, path: error.path?.join('.') }, 'unexpected error');
      }
    }
  };
  return {
    onExecute: () => ({
      onExecuteDone: ({ result, args }) => {
        const ctx = args.contextValue as Context;
        if ('errors' in result) log(result.errors, ctx);
        else
          return {
            onNext: ({ result: next }) => log(next.errors, ctx),
          };
      },
    }),
  };
}
