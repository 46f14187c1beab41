import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../../config.js';
import { appPath } from '../../shared/app-root.js';

/** Where the console is served; its assets live below it. */
export const CONSOLE_PATH = '/admin';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The console's own files under src/pages/admin (dist/pages/admin after the build). */
const OWN_FILES = [
  'index.html',
  'admin.css',
  'app.js',
  'api.js',
  'live.js',
  'ui.js',
  'signin.js',
  'users.js',
  'user.js',
  'roles.js',
  'audit.js',
  'analytics.js',
  'webhooks.js',
  'providers.js',
] as const;

/**
 * The console's CSP: only this origin (HTTP and the graphql-ws socket: CSP 3 lets 'self' match
 * ws:/wss: on the same host), no inline script or style, never framed (ASVS 5.0 V3.4.3, V3.4.6).
 * data: images for the TOTP QR codes the API returns as data: URLs.
 */
export const CONSOLE_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

const HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

type Asset = { body: string; type: string };

const packageRequire = createRequire(import.meta.url);

/** The folder of an installed package (its entry point's folder, walked up to the package root). */
function packageDir(name: string): string {
  const entry = packageRequire.resolve(name);
  const marker = `node_modules/${name}/`;
  const at = entry.lastIndexOf(marker);
  return at >= 0 ? entry.slice(0, at + marker.length) : dirname(entry);
}

/**
 * The browser libraries, served from the installed packages (no CDN, no bundler): their ESM
 * builds, with the one bare import (`preact` in preact/hooks) pointed at the served file, since
 * an import map would need an inline script.
 */
function vendorAssets(): Map<string, Asset> {
  const read = (pkg: string, file: string) => readFileSync(join(packageDir(pkg), file), 'utf8');
  const assets = new Map<string, Asset>([
    ['preact.mjs', { body: read('preact', 'dist/preact.mjs'), type: JS }],
    ['hooks.mjs', { body: read('preact', 'hooks/dist/hooks.mjs').replace(/from\s*(["'])preact\1/g, 'from"./preact.mjs"'), type: JS }],
    ['htm.mjs', { body: read('htm', 'dist/htm.mjs'), type: JS }],
    ['uplot.mjs', { body: read('uplot', 'dist/uPlot.esm.js'), type: JS }],
    ['uplot.css', { body: read('uplot', 'dist/uPlot.min.css'), type: CSS }],
  ]);
  // graphql-ws's client imports a hashed sibling chunk (common-<hash>.js): serve those too.
  const client = read('graphql-ws', 'dist/client.js');
  assets.set('graphql-ws/client.js', { body: client, type: JS });
  for (const [, chunk] of client.matchAll(/from\s*["']\.\/([\w.-]+\.js)["']/g)) {
    assets.set(`graphql-ws/${chunk}`, { body: read('graphql-ws', `dist/${chunk}`), type: JS });
  }
  return assets;
}

function ownAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of OWN_FILES) {
    const body = readFileSync(appPath(`pages/admin/${file}`), 'utf8');
    assets.set(file, { body, type: file.endsWith('.css') ? CSS : file.endsWith('.html') ? 'text/html; charset=utf-8' : JS });
  }
  return assets;
}

/**
 * GET /admin: the admin console, a single page that calls the public GraphQL API (HTTP and
 * graphql-ws) with the signed-in admin's token, so it can do nothing the API does not allow
 * that admin. Off with ADMIN_CONSOLE=false. Files are read once, at start.
 */
export function useConsole(config: Pick<Config, 'adminConsole'>): Plugin {
  if (!config.adminConsole) return {};
  const own = ownAssets();
  const vendor = vendorAssets();
  const page = own.get('index.html')!;
  return {
    onRequest({ url, request, endResponse, fetchAPI }) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      const path = url.pathname;
      if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return;
      const rest = path.slice(CONSOLE_PATH.length + 1);
      const asset = rest.startsWith('vendor/') ? vendor.get(rest.slice('vendor/'.length)) : rest === '' ? page : own.get(rest);
      if (!asset) return endResponse(new fetchAPI.Response('Not found', { status: 404, headers: { 'content-type': 'text/plain', ...HEADERS } }));
      // The page itself is never cached: a new deployment's files load at once.
      const cache = asset === page ? 'no-store' : 'no-cache';
      return endResponse(new fetchAPI.Response(asset.body, { headers: { 'content-type': asset.type, 'cache-control': cache, ...HEADERS } }));
    },
  };
}
