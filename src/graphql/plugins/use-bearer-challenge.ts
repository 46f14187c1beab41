import type { Plugin } from 'graphql-yoga';
import type { Context } from '../../context.js';
import type { TokenRefusal } from '../../modules/tokens/service.js';

const challenged = new WeakMap<Request, TokenRefusal>();

/**
 * RFC 6750 §3: a request whose bearer token was refused, and that got UNAUTHENTICATED for it,
 * answers with `WWW-Authenticate: Bearer error="invalid_token"` (§3.1 covers expired tokens
 * too), so a client can refresh on the header as well as on `extensions.reason`. Only then: a
 * public operation (login, refreshToken) sent with a stale header is not challenged, and a
 * request without a token keeps the plain answer. The status stays what GraphQL over HTTP says.
 */
export function useBearerChallenge(): Plugin<Context> {
  return {
    onExecutionResult({ request, result, context }) {
      const refusal = (context as Partial<Context>).tokenRefusal;
      if (!refusal?.bearer || !result || !('errors' in result)) return;
      if (result.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED' && e.extensions.reason === refusal.reason)) {
        challenged.set(request, refusal.reason);
      }
    },
    onResponse({ request, response }) {
      const reason = challenged.get(request);
      if (!reason) return;
      const description = reason === 'token_expired' ? ', error_description="The access token expired"' : '';
      response.headers.set('www-authenticate', `Bearer error="invalid_token"${description}`);
    },
  };
}
