import type { Plugin } from 'graphql-yoga';
import type { Deps } from '../../deps.js';
import { openidConfiguration } from '../../modules/tokens/discovery.js';

const READY_TIMEOUT_MS = 2_000;

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return Promise.race([promise, new Promise<void>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

/** Plain HTTP routes beside GraphQL: liveness, readiness, the JWKS and OIDC discovery. */
export function useRoutes(deps: Pick<Deps, 'config' | 'database' | 'store' | 'keys' | 'logger'>): Plugin {
  // Synchronous for every other path: this hook runs before each GraphQL request too.
  return {
    onRequest({ url, request, endResponse, fetchAPI }) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
        endResponse(new fetchAPI.Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } }));
      switch (url.pathname) {
        case '/healthz':
          return json({ status: 'ok' });
        case '/readyz':
          return readiness(deps).then(({ status, body }) => json(body, status, { 'cache-control': 'no-store' }));
        case '/.well-known/jwks.json':
          // Keys are published ten minutes before they sign (keys.ts), longer than this cache.
          return json(deps.keys.jwks(), 200, { 'cache-control': 'public, max-age=300' });
        case '/.well-known/openid-configuration':
          // Cached like the JWKS it points to: it names the algorithms of the published keys.
          return json(openidConfiguration(deps), 200, { 'cache-control': 'public, max-age=300' });
      }
    },
  };
}

async function readiness(deps: Pick<Deps, 'database' | 'store' | 'logger'>) {
  const checks = await Promise.allSettled([withTimeout(deps.database.ping(), READY_TIMEOUT_MS), withTimeout(deps.store.ping(), READY_TIMEOUT_MS)]);
  const [database, store] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : 'unavailable'));
  const ready = database === 'ok' && store === 'ok';
  if (!ready) deps.logger.warn({ database, store }, 'not ready');
  return { status: ready ? 200 : 503, body: { status: ready ? 'ok' : 'unavailable', database, store } };
}
