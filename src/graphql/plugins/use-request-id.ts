import type { Plugin } from 'graphql-yoga';
import type { Deps } from '../../deps.js';

const requests = new WeakMap<Request, { id: string; start: number; url: URL }>();

/** The request id of an HTTP request: the caller's X-Request-Id when it is sane, else a new one. */
export function requestIdOf(request: Request | undefined): string | undefined {
  return request ? requests.get(request)?.id : undefined;
}

/**
 * Gives every HTTP request an id (echoed in X-Request-Id), and logs one line per request:
 * method, path, status and duration. Never headers, variables or bodies.
 */
export function useRequestId(deps: Pick<Deps, 'logger' | 'random'>): Plugin {
  // The request line's fields are these five, none of which can hold a secret (the path without
  // its query string, a request id that passed the pattern below): it skips the redaction pass
  // (createLogger's REDACT), which cost about ten times the rest of the line.
  const requestLog = deps.logger.child({}, { redact: { paths: [] } });
  return {
    onRequest({ request, url }) {
      const given = request.headers.get('x-request-id');
      const id = given && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : deps.random.uuid();
      // The request's parsed URL, which the merged hooks share with the plain routes that read it
      // anyway (merge-http-hooks.ts), kept for the log line instead of parsing request.url again.
      requests.set(request, { id, start: performance.now(), url });
    },
    onResponse({ request, response }) {
      const entry = requests.get(request);
      if (!entry) return;
      response.headers.set('x-request-id', entry.id);
      if (requestLog.isLevelEnabled('info')) {
        requestLog.info(
          {
            reqId: entry.id,
            method: request.method,
            path: entry.url.pathname,
            status: response.status,
            ms: Math.round((performance.now() - entry.start) * 10) / 10,
          },
          'request',
        );
      }
    },
  };
}
