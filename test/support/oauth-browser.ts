import type { TestApp } from './app.js';

/** The gateway's host in tests (PUBLIC_URL and APP_URL): requests to it go to the app in process. */
const GATEWAY_HOST = 'gateway.test';

/** The gateway's OAuth routes: a browser follows these; anything else on the gateway is the landing page. */
const OAUTH_ROUTE = /^\/oauth\/[a-z0-9-]+(\/callback)?$/;

export type Browser = {
  /** One request, no redirect followed; cookies sent and stored per host. */
  get(url: string): Promise<Response>;
  /**
   * Follows redirects from `url` (the gateway's and the providers', loopback only) until the
   * browser lands on the front end (redirectTo), and returns that URL without loading it.
   */
  follow(url: string): Promise<URL>;
  /** A GraphQL POST from the page on the gateway's origin: its Set-Cookie headers land in the jar. */
  gql(query: string, variables?: Record<string, unknown>, token?: string): Promise<{ data: any; errors?: Array<{ extensions: Record<string, any> }> }>;
  /** The cookies the browser holds for a host (host:port). */
  cookies(host?: string): Map<string, string>;
};

function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

/** A browser-style client: a cookie jar and manual redirects with fetch(redirect: 'manual'), loopback only. */
export function createBrowser(app: TestApp): Browser {
  const jars = new Map<string, Map<string, string>>();
  const jarOf = (host: string) => {
    let jar = jars.get(host);
    if (!jar) jars.set(host, (jar = new Map()));
    return jar;
  };

  async function get(target: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = new URL(target);
    const jar = jarOf(url.host);
    const headers: Record<string, string> = { 'user-agent': 'test-browser', ...init.headers };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let response: Response;
    if (url.hostname === GATEWAY_HOST) response = await app.fetch(url.pathname + url.search, { method: init.method, body: init.body, headers });
    else if (isLoopback(url)) response = await fetch(url, { redirect: 'manual', headers });
    else throw new Error(`the test browser goes to loopback hosts only, not ${url.host}`);
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      if (/;\s*max-age=0(;|$)/i.test(line)) jar.delete(name);
      else jar.set(name, pair.slice(eq + 1).trim());
    }
    return response;
  }

  async function follow(start: string): Promise<URL> {
    let url = new URL(start);
    for (let hop = 0; hop < 20; hop++) {
      if (url.hostname === GATEWAY_HOST && !OAUTH_ROUTE.test(url.pathname)) return url;
      if (url.hostname === GATEWAY_HOST && url.pathname === '/oauth/callback') return url;
      // A front end of its own (APP_URL elsewhere): landed.
      if (url.hostname !== GATEWAY_HOST && !isLoopback(url)) return url;
      const response = await get(url.href);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        throw new Error(`stopped at ${url.origin}${url.pathname}: ${response.status} ${(await response.text()).slice(0, 300)}`);
      }
      await response.body?.cancel();
      url = new URL(location, url);
    }
    throw new Error('too many redirects');
  }

  async function gql(query: string, variables?: Record<string, unknown>, token?: string) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await get(`http://${GATEWAY_HOST}/graphql`, { method: 'POST', body: JSON.stringify({ query, variables }), headers });
    return response.json() as Promise<{ data: any; errors?: Array<{ extensions: Record<string, any> }> }>;
  }

  return { get: (url) => get(url), follow, gql, cookies: (host = GATEWAY_HOST) => jarOf(host) };
}
