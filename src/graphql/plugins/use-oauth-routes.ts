import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { Deps } from '../../deps.js';
import { enforceWindowLimit } from '../../modules/abuse/field-limits.js';
import { bindingCookieName, bindingSetCookie } from '../../modules/oauth/binding-cookie.js';
import { handleCallback } from '../../modules/oauth/flow.js';
import { startOAuth } from '../../modules/oauth/service.js';
import { defaultRedirectTo, withParam } from '../../modules/oauth/urls.js';
import { clientIp } from '../../shared/client-ip.js';
import { createCookieJar } from '../../shared/cookie-jar.js';
import { DomainError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { requestIdOf } from './use-request-id.js';

const ROUTE = /^\/oauth\/([a-z0-9-]{1,40})(\/callback)?$/;

/**
 * The redirect answers of the flow. no-store: they carry a one-time state or code. no-referrer:
 * the callback's URL holds the provider's code and state, which must not leak to the next page.
 */
function redirect(fetchAPI: { Response: typeof Response }, location: string, setCookie?: string): Response {
  const headers = new Headers({ location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
  if (setCookie) headers.append('set-cookie', setCookie);
  return new fetchAPI.Response(null, { status: 302, headers });
}

/**
 * GET /oauth/:provider?redirectTo=… (begin) and GET /oauth/:provider/callback (finish at the
 * provider). Both count against `oauth.ip` like login does against login.ip. Every failure,
 * expected or not, ends in a redirect with `?error=<ErrorCode>`: never a stack, never a 500 page.
 */
export function useOAuthRoutes(deps: Deps): Plugin {
  return {
    onRequest({ url, request, serverContext, endResponse, fetchAPI }) {
      if (request.method !== 'GET') return;
      const match = ROUTE.exec(url.pathname);
      // /oauth/callback is the landing page (use-pages.ts), not a provider.
      if (!match || (match[1] === 'callback' && !match[2])) return;
      const [, provider, isCallback] = match as unknown as [string, string, string | undefined];
      const meta: RequestMeta = {
        requestId: requestIdOf(request) ?? deps.random.uuid(),
        ip: clientIp(
          (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket.remoteAddress,
          request.headers.get('x-forwarded-for'),
          deps.config.trustProxy,
        ),
        userAgent: request.headers.get('user-agent')?.slice(0, 512) ?? null,
      };
      const binding = createCookieJar(request.headers, '').get(bindingCookieName(deps.config));
      const run = async (): Promise<Response> => {
        try {
          await enforceWindowLimit(deps, 'oauth.ip', meta.ip ?? 'unknown', meta);
          if (isCallback) return redirect(fetchAPI, await handleCallback(deps, { provider, query: url.searchParams, binding }, meta));
          const started = await startOAuth(deps, { provider, redirectTo: url.searchParams.get('redirectTo'), binding });
          return redirect(fetchAPI, started.url, bindingSetCookie(deps.config, started.binding));
        } catch (error) {
          if (!(error instanceof DomainError)) deps.logger.error({ err: error, reqId: meta.requestId }, 'oauth route failed');
          const code = error instanceof DomainError ? error.code : 'INTERNAL_SERVER_ERROR';
          return redirect(fetchAPI, withParam(defaultRedirectTo(deps.config), 'error', code));
        }
      };
      return run().then(endResponse);
    },
  };
}
