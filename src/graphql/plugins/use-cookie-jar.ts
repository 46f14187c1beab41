import type { Plugin } from 'graphql-yoga';
import { createCookieJar, type CookieJar } from '../../shared/cookie-jar.js';
import { CSRF_HEADER } from './use-csrf.js';

const jars = new WeakMap<Request, CookieJar>();

/** The cookie jar of an HTTP request, made on first use (requests that never ask cost nothing). */
export function getCookieJar(request: Request): CookieJar {
  let jar = jars.get(request);
  if (!jar) jars.set(request, (jar = createCookieJar(request.headers, CSRF_HEADER)));
  return jar;
}

/**
 * Writes the Set-Cookie headers that resolvers queued on the request's jar. Hand-written rather
 * than @whatwg-node/server-plugin-cookies: its releases for our @whatwg-node/server (0.11) write
 * Expires but not Max-Age, and Expires would come from the server's clock (deps.clock), which a
 * client's clock need not share; Max-Age is relative.
 */
export function useCookieJar(): Plugin {
  return {
    onResponse({ request, response }) {
      const jar = jars.get(request);
      if (!jar) return;
      for (const setCookie of jar.outgoing()) response.headers.append('set-cookie', setCookie);
    },
  };
}
