import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { createContext, readNodeRequestInfo, type Context } from './context.js';
import type { Deps } from './deps.js';
import { GraphQLError, type DocumentNode } from 'graphql';
import { isUnexpected, maskError } from './graphql/errors.js';
import { loggedErrors, useErrorLogging } from './graphql/plugins/use-error-logging.js';
import { useFieldRateLimits } from './graphql/plugins/use-field-rate-limits.js';
import { useLatency } from './graphql/plugins/use-latency.js';
import { useRequestId, requestIdOf } from './graphql/plugins/use-request-id.js';
import { useRequestTimeout, withRequestDeadline } from './graphql/plugins/use-request-timeout.js';
import { useArmor } from './graphql/plugins/use-armor.js';
import { useBodyLimit } from './graphql/plugins/use-body-limit.js';
import { useBearerChallenge } from './graphql/plugins/use-bearer-challenge.js';
import { getCookieJar, useCookieJar } from './graphql/plugins/use-cookie-jar.js';
import { corsOptions, originAllowed } from './graphql/cors.js';
import { createGraphiQLRenderer, graphiqlOptions } from './graphql/graphiql.js';
import { useCsrf } from './graphql/plugins/use-csrf.js';
import { useNoIntrospection } from './graphql/plugins/use-no-introspection.js';
import { useRoutes } from './graphql/plugins/use-routes.js';
import { usePages } from './graphql/plugins/use-pages.js';
import { useConsole } from './graphql/plugins/use-console.js';
import { useOAuthRoutes } from './graphql/plugins/use-oauth-routes.js';
import { useValidationErrors } from './graphql/plugins/use-validation-errors.js';
import { mergeHttpHooks } from './graphql/plugins/merge-http-hooks.js';
import { useInputGuard } from './graphql/plugins/use-input-guard.js';
import { useSharedSubscriptionResults } from './graphql/plugins/use-shared-subscription-results.js';
import { schema } from './graphql/schema.js';
import { subgraphSchema } from './graphql/subgraph.js';
import type { Logger } from './shared/logger.js';

type ServerContext = { req?: IncomingMessage; connectionParams?: Record<string, unknown>; requestId?: string };

export type App = {
  yoga: YogaServerInstance<ServerContext, Context>;
  /** Listens on config.port/host unless given; resolves with the bound port. */
  start(port?: number, host?: string): Promise<{ port: number; url: string }>;
  /** Stops accepting, closes WebSockets (1001), drains in-flight HTTP requests. */
  stop(): Promise<void>;
};

const GRAPHQL_PATH = '/graphql';

/**
 * Yoga logs every error it masks, printed with the query source, which can hold inline
 * secrets (a password literal). Expected errors are not logged at all; unexpected ones are
 * logged once, through the sanitising serializer, by useErrorLogging when they come from
 * execution and here otherwise (a context that could not be built, say).
 */
function yogaLogger(logger: Logger) {
  const text = (args: unknown[]) => args.filter((a) => typeof a === 'string').join(' ');
  return {
    debug: (...args: unknown[]) => logger.debug(text(args)),
    info: (...args: unknown[]) => logger.info(text(args)),
    warn: (...args: unknown[]) => logger.warn(text(args)),
    error: (...args: unknown[]) => {
      for (const arg of args) {
        const original = arg instanceof GraphQLError && arg.originalError ? arg.originalError : arg;
        if (typeof arg === 'string') logger.error(arg);
        else if (isUnexpected(arg) && !loggedErrors.has(original as object)) logger.error({ err: original }, 'unexpected error');
      }
    },
  };
}

/**
 * WS_MAX_SUBSCRIPTIONS: the operation over the cap gets an error message and the connection,
 * with the operations it has, stays open. The cap itself only outside production (as the
 * GraphQL limits: a caller cannot probe it).
 */
function tooManySubscriptions(config: Deps['config']): GraphQLError {
  const detail = config.isProduction ? '' : ` (at most ${config.wsMaxSubscriptions} at once)`;
  return new GraphQLError(`Too many operations on this connection${detail}: complete one first`, { extensions: { code: 'BAD_USER_INPUT' } });
}

/**
 * graphql-ws prints every socket error to stderr with its stack ("Internal error emitted on a
 * WebSocket socket"), e.g. a message over REQUEST_BODY_LIMIT (ws has already closed that socket
 * with 1009). Log it once, as a structured warning, instead; and the server's own errors (a
 * port in use, forwarded from the HTTP server) are start()'s to report.
 */
function quietWebSocketErrors(wss: WebSocketServer, listening: () => boolean, logger: Logger): void {
  wss.removeAllListeners('error');
  wss.on('error', (error) => {
    if (listening()) logger.error({ err: error }, 'websocket server error');
  });
  // After graphql-ws's own 'connection' listener, which adds the one to replace.
  wss.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (error: Error & { code?: string }) => {
      logger.warn({ err: { type: error.name, message: error.message, code: error.code } }, 'websocket connection error');
      if (socket.readyState === socket.OPEN) socket.close(1011, 'Internal server error');
    });
  });
}

/** One port: yoga for HTTP (GraphQL, SSE and the plain routes) and graphql-ws on the same path. */
export function createApp(deps: Deps): App {
  const { config, logger } = deps;
  const yoga = createYoga<ServerContext, Context>({
    // FEDERATION: also an Apollo Federation v2 subgraph (README "Behind a federated gateway").
    schema: config.federation ? subgraphSchema() : schema,
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: config.isProduction ? false : graphiqlOptions(config.appName),
    renderGraphiQL: createGraphiQLRenderer(),
    landingPage: false,
    // One operation per request: a batch would multiply every per-request limit below.
    batching: false,
    // Larger bodies get 413 before they are parsed (useBodyLimit below); no file uploads, so no multipart parser.
    maxRequestBodySize: false,
    multipart: false,
    maskedErrors: { maskError: (error, message) => maskError(error, message, { production: config.isProduction }), isDev: false },
    logging: yogaLogger(logger),
    cors: corsOptions(config),
    context: async ({ request, req, connectionParams, requestId }) => {
      const node = readNodeRequestInfo(req);
      const fromParams = connectionParams?.authorization ?? connectionParams?.Authorization;
      const id = requestId ?? requestIdOf(request) ?? deps.random.uuid();
      const context = createContext({
        deps,
        requestId: id,
        authorization: typeof fromParams === 'string' ? fromParams : (request?.headers.get('authorization') ?? req?.headers.authorization),
        userAgent: request?.headers.get('user-agent') ?? node.userAgent,
        remoteAddress: node.remoteAddress,
        forwardedFor: request?.headers.get('x-forwarded-for') ?? node.forwardedFor,
        // `request` is yoga's HTTP request; a WebSocket operation has none.
        cookies: request ? getCookieJar(request) : null,
      });
      return withRequestDeadline(context, { request, timeoutMs: config.requestTimeoutMs, logger, requestId: id });
    },
    // Every plugin's onRequest and onResponse hooks run as one of each (merge-http-hooks.ts).
    plugins: mergeHttpHooks([
      // First, so its clock starts before any other plugin's parse hook runs.
      useLatency(deps.latency),
      useRequestId(deps),
      useRequestTimeout({ timeoutMs: config.requestTimeoutMs }),
      useRoutes(deps),
      usePages(config),
      useConsole(config),
      useOAuthRoutes(deps),
      useErrorLogging(deps),
      useCsrf(),
      useCookieJar(),
      useBearerChallenge(),
      useArmor({ limits: config.abuse.graphqlLimits, production: config.isProduction }),
      useValidationErrors({ production: config.isProduction }),
      useInputGuard(),
      ...(config.isProduction ? [useNoIntrospection()] : []),
      // One execution per audit event for all its subscribers, not one each (1,000 dashboards).
      useSharedSubscriptionResults(['auditEvents']),
      // Per-IP limits per field execution (abuse/field-limits.ts), on the atomic store.
      useFieldRateLimits(),
      // Last, after every plugin that may register a request parser: it wraps the chosen one.
      useBodyLimit(config.abuse.requestBodyLimit),
    ]),
  });

  const server = createServer(yoga);
  const wss = new WebSocketServer({
    server,
    path: GRAPHQL_PATH,
    maxPayload: config.abuse.requestBodyLimit,
    // Cross-site WebSocket hijacking: a browser sends the page's Origin on the upgrade and no
    // CORS applies, so refuse (403) the origins CORS refuses (ASVS 5.0 V4.4.2).
    verifyClient: ({ req }, done) => done(originAllowed(config, req.headers.origin, req.headers.host), 403, 'Origin not allowed'),
  });
  useServer<Record<string, unknown>, { request: IncomingMessage }>(
    {
      execute: (args) => (args.rootValue as { execute: (a: unknown) => unknown }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: unknown) => unknown }).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        // Checked before any await: graphql-ws has already reserved this id, so the count is exact.
        if (Object.keys(ctx.subscriptions).length > config.wsMaxSubscriptions) return [tooManySubscriptions(config)];
        const {
          schema: enveloped,
          execute,
          subscribe,
          contextFactory,
          parse,
          validate,
        } = yoga.getEnveloped({
          req: ctx.extra.request,
          connectionParams: ctx.connectionParams,
          requestId: deps.random.uuid(),
          params: payload,
        } as never);
        // A syntax error or the token limit is the client's mistake: an error message, not the
        // socket closed with 4500, which is what graphql-ws does with anything thrown here.
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [maskError(error, '', { production: config.isProduction })];
          throw error;
        }
        const errors = validate(enveloped, document);
        if (errors.length) return errors;
        return {
          schema: enveloped,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
  );
  quietWebSocketErrors(wss, () => server.listening, logger);

  return {
    yoga,
    start: (port = config.port, host = config.host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const bound = (server.address() as AddressInfo).port;
          resolve({ port: bound, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}${GRAPHQL_PATH}` });
        });
      }),
    stop: async () => {
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      // Read before close(): close() clears `listening` at once, long before requests drain.
      const listening = server.listening;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // In-flight requests get a few seconds to finish; then remaining sockets are cut.
      const timer = setTimeout(() => server.closeAllConnections(), 10_000);
      if (listening) await closed;
      clearTimeout(timer);
      await yoga.dispose();
    },
  };
}
