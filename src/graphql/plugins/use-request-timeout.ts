import { performance } from 'node:perf_hooks';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../../context.js';
import type { Logger } from '../../shared/logger.js';
import { loggedErrors } from './use-error-logging.js';

/** A request ran past REQUEST_TIMEOUT. Unexpected: masked as INTERNAL_SERVER_ERROR, logged with the request id. */
export class RequestTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly phase: 'context' | 'execution',
  ) {
    super(`request deadline of ${timeoutMs} ms exceeded during ${phase}`);
    this.name = 'RequestTimeoutError';
  }
}

const started = new WeakMap<Request, number>();

/** Milliseconds left of a request's deadline (the whole deadline when the request is unknown: WebSocket). */
function remaining(request: Request | undefined, timeoutMs: number): number {
  const start = request ? started.get(request) : undefined;
  return start === undefined ? timeoutMs : Math.max(0, timeoutMs - (performance.now() - start));
}

function race<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(onTimeout()), ms)));
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Bounds building the context (the session lookup in the store) by what is left of the request's
 * deadline; past it, the request fails with RequestTimeoutError, logged here with the request id.
 */
export function withRequestDeadline<T>(
  work: Promise<T>,
  opts: { request: Request | undefined; timeoutMs: number; logger: Logger; requestId: string },
): Promise<T> {
  return race(work, remaining(opts.request, opts.timeoutMs), () => {
    const error = new RequestTimeoutError(opts.timeoutMs, 'context');
    opts.logger.error({ reqId: opts.requestId, err: error }, 'unexpected error');
    loggedErrors.add(error);
    throw error;
  });
}

/**
 * REQUEST_TIMEOUT for queries and mutations: a request whose database or store stops answering
 * gets INTERNAL_SERVER_ERROR when its deadline passes instead of hanging until the client gives
 * up (ASVS 5.0 V13.2 resource limits; the load balancer's own timeout would answer no code and
 * log no request id). The work itself is not cancelled: it ends when the server answers or the
 * driver gives up, and its result is dropped. Subscriptions are long-lived and not bounded here.
 */
export function useRequestTimeout(opts: { timeoutMs: number }): Plugin<Context> {
  return {
    onRequest({ request }) {
      started.set(request, performance.now());
    },
    onExecute({ executeFn, setExecuteFn, args }) {
      const request = (args.contextValue as Context & { request?: Request }).request;
      setExecuteFn((execArgs) =>
        race(Promise.resolve(executeFn(execArgs)), remaining(request, opts.timeoutMs), () => ({
          data: null,
          // useErrorLogging logs it (with the request id) and the mask turns it into INTERNAL_SERVER_ERROR.
          errors: [new GraphQLError('Unexpected error.', { originalError: new RequestTimeoutError(opts.timeoutMs, 'execution') })],
        })),
      );
    },
  };
}
