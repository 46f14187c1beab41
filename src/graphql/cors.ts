import type { Config } from '../config.js';

type OriginConfig = Pick<Config, 'appUrl' | 'publicUrl' | 'corsOrigins'>;

/** The origins of our own front-end: APP_URL and PUBLIC_URL. */
function ownOrigins(config: OriginConfig): Set<string> {
  return new Set([new URL(config.appUrl).origin, new URL(config.publicUrl).origin]);
}

/**
 * Whether a browser on `origin` may call us: the origins of APP_URL and PUBLIC_URL, those of
 * CORS_ORIGINS (any with `*`), and the request's own origin (a page served by the gateway at
 * whatever host it was reached by). No Origin header is a non-browser client: allowed, as
 * nothing ambient (no cookie on a WebSocket) rides on it.
 */
export function originAllowed(config: OriginConfig, origin: string | null | undefined, host: string | null | undefined): boolean {
  if (!origin || config.corsOrigins === '*' || config.corsOrigins.includes(origin) || ownOrigins(config).has(origin)) return true;
  try {
    return !!host && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * CORS that keeps cookie credentials to our own front-end. Yoga's default reflects any Origin
 * with Access-Control-Allow-Credentials: true and any requested header, which would let script
 * on any same-site origin (a sibling subdomain: SameSite does not separate those) send the
 * CSRF header with the user's cookies after a preflight. So only the origins of APP_URL and
 * PUBLIC_URL get credentials; the other allowed origins (CORS_ORIGINS) may call us with a bearer
 * token (the preflight answers without Allow-Credentials, so the browser sends no cookies), and
 * any other origin gets no CORS headers at all, so the browser refuses it.
 */
export function corsOptions(config: OriginConfig) {
  const trusted = ownOrigins(config);
  // No `origin` option: yoga reflects the request's Origin (with Vary: Origin) either way.
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!originAllowed(config, origin, request.headers.get('host'))) return false as const;
    return { credentials: trusted.has(origin ?? '') };
  };
}
