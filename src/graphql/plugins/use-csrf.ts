import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Plugin } from 'graphql-yoga';

/**
 * The header that marks a request as sent by script, not by a form, link or image. Send any
 * non-empty value: browsers only let script set a custom header, and cross-origin only after a
 * CORS preflight. Cookie-authenticated requests must always carry it.
 */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

/**
 * CSRF prevention on the GraphQL endpoint. The rule: a GraphQL request over HTTP is refused
 * (403) unless it either
 * - has a Content-Type a browser cannot send without a CORS preflight (anything but
 *   application/x-www-form-urlencoded, multipart/form-data and text/plain: so
 *   `application/json` POSTs, what every client sends, pass untouched), or
 * - carries the CSRF_HEADER.
 * So a cross-site form post, text/plain fetch or `<img src="/graphql?query=...">` never runs an
 * operation, and the "simple" requests a browser sends without asking the server first are all
 * refused. GET requests have no Content-Type, so a GET query needs the header (mutations are
 * refused over GET in any case, 405). SSE subscriptions over GET (a bare EventSource) need it
 * too; GraphiQL posts JSON and is unaffected. WebSocket is not covered (no preflight there):
 * graphql-ws connections authenticate with connectionParams, which a cross-site page cannot
 * supply on the user's behalf. See @graphql-yoga/plugin-csrf-prevention and the
 * GraphQL-over-HTTP spec's CSRF section.
 */
export function useCsrf(): Plugin {
  return useCSRFPrevention({ requestHeaders: [CSRF_HEADER] });
}
