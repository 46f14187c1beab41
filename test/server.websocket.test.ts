import { beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { backends, useTestApp } from './support/app.js';
import { logout, signUp, type Tokens } from './support/actions.js';
import { grantAdmin, subscribeWs, waitForSubscribers, wsClient, type Received } from './support/audit.js';

/** Opens a graphql-ws socket with this Origin (none when null): the HTTP status of a refusal, or 101. */
function upgrade(url: string, origin: string | null): Promise<number> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', origin ? { origin } : {});
  return new Promise<number>((resolve, reject) => {
    socket.once('open', () => resolve(101));
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('error', reject);
  }).finally(() => socket.terminate());
}

describe.each(backends())('WebSocket origin and subscription limits (%s)', (backend) => {
  const app = useTestApp(backend, { env: { APP_URL: 'http://app.gateway.test' } });
  let url: string;
  let admin: Tokens;
  beforeAll(async () => {
    url = await app.listen();
    admin = await signUp(app);
    await grantAdmin(app, admin.userId);
  });

  it('regression: refuses the upgrade (403) from an origin CORS refuses', async () => {
    expect(await upgrade(url, 'http://evil.test')).toBe(403);
    expect(await upgrade(url, 'http://evil.gateway.test')).toBe(403);
    expect(await upgrade(url, 'null')).toBe(403);
    const preflight = await app.fetch('/graphql', { method: 'OPTIONS', headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('accepts APP_URL, PUBLIC_URL, its own origin, and no Origin at all (a non-browser client)', async () => {
    for (const origin of ['http://app.gateway.test', 'http://gateway.test', new URL(url).origin, null]) {
      expect(await upgrade(url, origin), String(origin)).toBe(101);
    }
  });

  it('tells a refused token in connectionParams apart from a missing one (extensions.reason)', async () => {
    const user = await signUp(app);
    await logout(app, user.accessToken);
    const meOver = (token: string | null) => {
      const client = createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      });
      return new Promise<Record<string, unknown> | undefined>((resolve, reject) => {
        client.subscribe({ query: '{ me { id } }' }, { next: (r) => resolve(r.errors?.[0]?.extensions), error: reject, complete: () => undefined });
      }).finally(() => client.dispose());
    };
    expect(await meOver(user.accessToken)).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_token' });
    expect(await meOver(null)).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('regression: caps the operations of one connection at WS_MAX_SUBSCRIPTIONS (20): the next gets BAD_USER_INPUT, the others live on', async () => {
    const client = wsClient(url, admin.accessToken);
    const live: Received[] = [];
    try {
      for (let i = 0; i < 20; i++) live.push(subscribeWs(url, admin.accessToken, undefined, client));
      await waitForSubscribers(app, 20);
      const refused = subscribeWs(url, admin.accessToken, undefined, client);
      await refused.ended;
      expect(refused.errors).toEqual(['BAD_USER_INPUT']);
      expect(live.filter((r) => r.isEnded())).toEqual([]);
      // Completing one frees its place.
      await live.shift()!.close();
      await waitForSubscribers(app, 19);
      live.push(subscribeWs(url, admin.accessToken, undefined, client));
      await waitForSubscribers(app, 20);
      expect(live.filter((r) => r.isEnded())).toEqual([]);
      // The cap is per connection: another connection has its own.
      const other = subscribeWs(url, admin.accessToken);
      live.push(other);
      await waitForSubscribers(app, 21);
      expect(other.errors).toEqual([]);
    } finally {
      await Promise.all(live.map((r) => r.close()));
      await client.dispose();
    }
    await waitForSubscribers(app, 0);
  });
});

describe.each(backends())('CORS_ORIGINS and WS_MAX_SUBSCRIPTIONS set (%s)', (backend) => {
  const app = useTestApp(backend, {
    env: { CORS_ORIGINS: 'https://partner.example, http://localhost:5173', WS_MAX_SUBSCRIPTIONS: '1' },
  });
  let url: string;
  beforeAll(async () => {
    url = await app.listen();
  });

  it('takes the listed origins beside its own (bearer only: no credentials) and refuses the rest', async () => {
    expect(await upgrade(url, 'https://partner.example')).toBe(101);
    expect(await upgrade(url, 'http://localhost:5173')).toBe(101);
    expect(await upgrade(url, 'http://gateway.test')).toBe(101);
    expect(await upgrade(url, 'https://partner.example.evil.test')).toBe(403);
    const preflight = await app.fetch('/graphql', {
      method: 'OPTIONS',
      headers: { origin: 'https://partner.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://partner.example');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('caps at the configured number', async () => {
    const admin = await signUp(app);
    await grantAdmin(app, admin.userId);
    const client = wsClient(url, admin.accessToken);
    const first = subscribeWs(url, admin.accessToken, undefined, client);
    try {
      await waitForSubscribers(app, 1);
      const second = subscribeWs(url, admin.accessToken, undefined, client);
      await second.ended;
      expect(second.errors).toEqual(['BAD_USER_INPUT']);
      expect(first.isEnded()).toBe(false);
    } finally {
      await first.close();
      await client.dispose();
    }
  });
});

describe('CORS_ORIGINS and WS_MAX_SUBSCRIPTIONS configuration', () => {
  it('parses origins (normalised, or *), refuses anything but an origin, and bounds the cap', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://A.example/, http://localhost:5173' }).corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
    for (const bad of ['https://a.example/path', 'ftp://a.example', 'a.example', ',']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
    }
    expect(loadConfig({}).wsMaxSubscriptions).toBe(20);
    expect(loadConfig({ WS_MAX_SUBSCRIPTIONS: '100' }).wsMaxSubscriptions).toBe(100);
    expect(() => loadConfig({ WS_MAX_SUBSCRIPTIONS: '0' })).toThrow(/WS_MAX_SUBSCRIPTIONS/);
  });
});
