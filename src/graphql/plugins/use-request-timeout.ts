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

/** One timer per HTTP request, set when it arrives and cleared when it is answered; both races below wait on it. */
type Deadline = { timer: NodeJS.Timeout; expired: Promise<void> };
const deadlines = new WeakMap<Request, Deadline>();

function startDeadline(ms: number): Deadline {
  let timer!: NodeJS.Timeout;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { timer, expired };
}

/**
 * `work`, or `onTimeout()` when `expired` comes first. A race that `work` has won ignores the
 * deadline (nothing is thrown or logged when its timer fires later).
 */
function race<T>(work: Promise<T>, expired: Promise<void>, onTimeout: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    work.then(
      (value) => {
        settled = true;
        resolve(value);
      },
      (error: unknown) => {
        settled = true;
        reject(error);
      },
    );
    expired.then(() => {
      if (settled) return;
      settled = true;
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** The request's deadline; a WebSocket operation (no request) gets one of its own, cleared when `work` ends. */
function raceDeadline<T>(request: Request | undefined, timeoutMs: number, work: Promise<T>, onTimeout: () => T): Promise<T> {
  const shared = request ? deadlines.get(request) : undefined;
  if (shared) return race(work, shared.expired, onTimeout);
  const own = startDeadline(timeoutMs);
  return race(work, own.expired, onTimeout).finally(() => clearTimeout(own.timer));
}

/**
 * Bounds building the context (the session lookup in the store) by what is left of the request's
 * deadline; past it, the request fails with RequestTimeoutError, logged here with the request id.
 */
export function withRequestDeadline<T>(
  work: Promise<T>,
  opts: { request: Request | undefined; timeoutMs: number; logger: Logger; requestId: string },
): Promise<T> {
  return raceDeadline(opts.request, opts.timeoutMs, work, () => {
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
      deadlines.set(request, startDeadline(opts.timeoutMs));
    },
    onResponse({ request }) {
      const deadline = deadlines.get(request);
      if (deadline) clearTimeout(deadline.timer);
    },
    onExecute({ executeFn, setExecuteFn, args }) {
      const request = (args.contextValue as Context & { request?: Request }).request;
      setExecuteFn((execArgs) =>
        raceDeadline(request, opts.timeoutMs, Promise.resolve(executeFn(execArgs)), () => ({
          data: null,
          // useErrorLogging logs it (with the request id) and the mask turns it into INTERNAL_SERVER_ERROR.
          errors: [new GraphQLError('Unexpected error.', { originalError: new RequestTimeoutError(opts.timeoutMs, 'execution') })],
        })),
      );
    },
  };
}
