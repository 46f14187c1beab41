import type { Config } from '../config.js';

/**
 * CORS that keeps cookie credentials to our own front-end. Yoga's default reflects any Origin
 * with Access-Control-Allow-Credentials: true and any requested header, which would let script
 * on any same-site origin (a sibling subdomain: SameSite does not separate those) send the
 * CSRF header with the user's cookies after a preflight. So only the origins of APP_URL and
 * PUBLIC_URL get credentials; every other origin may still call us cross-origin with a bearer
 * token (the preflight answers without Allow-Credentials, so the browser sends no cookies).
 */
export function corsOptions(config: Pick<Config, 'appUrl' | 'publicUrl'>) {
  const trusted = new Set([new URL(config.appUrl).origin, new URL(config.publicUrl).origin]);
  // No `origin` option: yoga reflects the request's Origin (with Vary: Origin) either way.
  return (request: Request) => ({ credentials: trusted.has(request.headers.get('origin') ?? '') });
}
