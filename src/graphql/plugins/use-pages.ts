import { readFileSync } from 'node:fs';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../../config.js';
import { appPath } from '../../shared/app-root.js';

/** The routes that mailed links point to (messaging/send.ts), each served the same page. */
export const LINK_PAGES = ['/verify-email', '/reset-password', '/magic-link'] as const;

/** The default redirectTo of a provider sign-in (APP_URL/oauth/callback): it calls finishOAuth with the code. */
export const OAUTH_CALLBACK_PAGE = '/oauth/callback';

const ASSETS: Record<string, { file: string; type: string }> = {
  '/_gateway/pages.js': { file: 'pages.js', type: 'text/javascript; charset=utf-8' },
  '/_gateway/pages.css': { file: 'pages.css', type: 'text/css; charset=utf-8' },
};

/**
 * A strict CSP for pages the gateway serves: no inline script or style, nothing from another
 * origin, never framed (clickjacking; ASVS 5.0 V3.4.3, V3.4.6).
 */
export const PAGE_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

export const PAGE_HEADERS = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  // The link's token is in the URL: never send it on to another site (ASVS 5.0 V14.3.x).
  'referrer-policy': 'no-referrer',
} as const;

/** Read once, from the source's or the build's pages folder (src/pages or dist/pages). */
function readPage(file: string): string {
  return readFileSync(appPath(`pages/${file}`), 'utf8');
}

/** True when the mailed links point at this gateway (APP_URL unset, or equal to PUBLIC_URL). */
export function servesLinkPages(config: Pick<Config, 'appUrl' | 'publicUrl'>): boolean {
  return config.appUrl === config.publicUrl;
}

/**
 * Small pages at the mailed links' paths, so that the links a developer finds in the log
 * work end to end on the embedded default. A product with its own front end sets APP_URL and
 * these pages are not served. They call the public GraphQL API like any other client.
 */
export function usePages(config: Pick<Config, 'appUrl' | 'publicUrl'>): Plugin {
  if (!servesLinkPages(config)) return {};
  const html = readPage('link.html');
  // One level down: its assets and the API are one level up (no <base>: the CSP has base-uri 'none').
  const oauthHtml = readPage('oauth-callback.html');
  const assets = new Map(Object.entries(ASSETS).map(([path, { file, type }]) => [path, { body: readPage(file), type }]));
  return {
    onRequest({ url, request, endResponse, fetchAPI }) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      const asset = assets.get(url.pathname);
      if (asset) {
        return endResponse(new fetchAPI.Response(asset.body, { headers: { 'content-type': asset.type, 'cache-control': 'no-cache', ...PAGE_HEADERS } }));
      }
      const page = (LINK_PAGES as readonly string[]).includes(url.pathname) ? html : url.pathname === OAUTH_CALLBACK_PAGE ? oauthHtml : null;
      if (page) {
        // no-store: the URL carries a one-time token.
        return endResponse(
          new fetchAPI.Response(page, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...PAGE_HEADERS } }),
        );
      }
    },
  };
}
