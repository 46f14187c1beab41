import dns from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createUrlGuard, GuardRefusal, refuseAddress } from '../src/modules/webhooks/guard.js';
import { sealSecret } from '../src/modules/webhooks/signing.js';
import { webhooks } from '../src/modules/webhooks/tables.js';
import { backends, useTestApp, type TestApp } from './support/app.js';
import { expectOk } from './support/actions.js';
import { createWebhook, createWebhookRaw, RECEIVER_ENV, signUpAdmin, startReceiver, waitForDelivery, type Receiver } from './support/webhooks.js';

/** Hosts every socket was asked to connect to (net and tls, as undici opens them), and every DNS lookup. */
function watchSockets() {
  const connect = vi.spyOn(net, 'connect');
  const secure = vi.spyOn(tls, 'connect');
  const lookup = vi.spyOn(dns, 'lookup');
  const hosts = () =>
    [...connect.mock.calls, ...secure.mock.calls].map(([options]) => (typeof options === 'object' ? (options as { host?: string }).host : options));
  return { hosts, lookups: () => lookup.mock.calls.map(([name]) => name) };
}

/** An endpoint stored as if its URL had passed the guard before (DNS changed, or an older row): the attempt must be checked again. */
async function storeWebhook(app: TestApp, url: string): Promise<string> {
  const id = app.deps.random.uuid();
  const now = new Date(app.clock.now());
  const secretEnc = sealSecret(app.deps.webhookSecretKey, `whsec_${Buffer.alloc(32, 1).toString('base64')}`);
  await app.deps.db.insert(webhooks).values({ id, url, events: ['user.login'], secretEnc, createdAt: now, updatedAt: now });
  return id;
}

const ping = async (app: TestApp, token: string, id: string) =>
  expectOk(await app.gql(`mutation($id: ID!) { pingWebhook(id: $id) { id } }`, { id }, { token })).pingWebhook.id as string;

describe.each(backends())('webhook SSRF guard without an allow-list (%s)', (backend) => {
  const app = useTestApp(backend);
  let target: Receiver;
  beforeEach(async () => {
    target = await startReceiver(app.clock);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await target.close();
  });

  it('createWebhook refuses 127.0.0.1, localhost, [::1], [::ffff:127.0.0.1], 169.254.169.254 and 10.0.0.1 (BAD_USER_INPUT with the reason) without connecting', async () => {
    const token = await signUpAdmin(app);
    const sockets = watchSockets();
    const port = target.port;
    const cases: Array<[string, RegExp]> = [
      [`http://127.0.0.1:${port}/hooks`, /127\.0\.0\.1 is loopback/],
      [`http://localhost:${port}/hooks`, /is loopback/],
      [`http://[::1]:${port}/hooks`, /::1 is loopback/],
      [`http://[::ffff:127.0.0.1]:${port}/hooks`, /IPv4-mapped/],
      ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is linkLocal/],
      ['http://10.0.0.1/hooks', /10\.0\.0\.1 is private/],
    ];
    for (const [url, reason] of cases) {
      const result = await createWebhookRaw(app, token, { url });
      expect(result.errors?.[0]?.extensions, url).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
      expect(result.errors?.[0]?.message, url).toMatch(reason);
    }
    expect(sockets.lookups()).toEqual(['localhost']);
    expect(sockets.hosts().filter((h) => /127\.0\.0\.1|localhost|::1|169\.254|10\.0\.0\.1/.test(String(h)))).toEqual([]);
    expect(target.requests).toEqual([]);
  });

  it('the guard runs again on every attempt: stored endpoints at 10.0.0.1, 169.254.169.254 and a name resolving to loopback are refused before any socket', async () => {
    const token = await signUpAdmin(app);
    const ids = [
      await storeWebhook(app, 'http://10.0.0.1/hooks'),
      await storeWebhook(app, 'http://169.254.169.254/hooks'),
      await storeWebhook(app, `http://localhost:${target.port}/hooks`),
    ];
    const sockets = watchSockets();
    for (const id of ids) {
      const delivery = await ping(app, token, id);
      const failed = await waitForDelivery(
        app,
        token,
        id,
        (d) => d.id === delivery && d.attempts === 1 && d.nextAttemptAt !== null && Date.parse(d.nextAttemptAt) > app.clock.now(),
      );
      expect(failed.responseStatus).toBeNull();
    }
    // A name's socket asks the guarded lookup for addresses, which refuses before any is connected to.
    expect(sockets.lookups()).toContain('localhost');
    expect(sockets.hosts().filter((h) => h === '10.0.0.1' || h === '169.254.169.254' || h === '127.0.0.1' || h === '::1')).toEqual([]);
    expect(target.requests).toEqual([]);
    expect(app.logs.some((l) => l.includes('refused by the guard'))).toBe(true);
  });
});

describe.each(backends())('webhook SSRF guard with 127.0.0.1 allowed (%s)', (backend) => {
  const app = useTestApp(backend, { env: RECEIVER_ENV });
  afterEach(() => vi.restoreAllMocks());

  it('a redirect is not followed: a 302 to loopback is a failed attempt and its target gets nothing', async () => {
    const token = await signUpAdmin(app);
    const inner = await startReceiver(app.clock);
    const outer = await startReceiver(app.clock, () => ({ redirect: inner.url }));
    try {
      const sockets = watchSockets();
      const hook = await createWebhook(app, token, { url: outer.url, events: ['user.login'] });
      const id = await ping(app, token, hook.id);
      const failed = await waitForDelivery(app, token, hook.id, (d) => d.id === id && d.responseStatus === 302);
      expect(failed.status).toBe('PENDING');
      expect(outer.requests).toHaveLength(1);
      expect(inner.requests).toEqual([]);
      // The socket watch sees connections: the one to the allowed receiver, none to the redirect's port.
      expect(sockets.hosts()).toContain('127.0.0.1');
    } finally {
      await inner.close();
      await outer.close();
    }
  });

  it('[::1] and [::ffff:127.0.0.1] stay refused when 127.0.0.1 is allowed', async () => {
    const token = await signUpAdmin(app);
    for (const url of ['http://[::1]:9/hooks', 'http://[::ffff:127.0.0.1]:9/hooks', 'http://[::ffff:7f00:1]:9/hooks']) {
      expect((await createWebhookRaw(app, token, { url })).errors?.[0]?.extensions, url).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
    }
  });
});

describe('the guard on its own', () => {
  const guard = createUrlGuard({ allowed: [], httpsOnly: true, timeoutMs: 1000, lookup: () => expect.unreachable('no DNS for literals') });
  afterAll(() => guard.close());

  it('refuses every non-public range ipaddr.js knows, in every literal form, and lets public unicast through', () => {
    for (const ip of [
      '0.0.0.0',
      '100.64.0.1',
      '172.16.0.1',
      '192.168.1.1',
      '198.18.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      'fd00::1',
      'fe80::1',
      'ff02::1',
      '2002:7f00:1::',
      '64:ff9b::7f00:1',
    ]) {
      expect(refuseAddress(ip, []), ip).not.toBeNull();
    }
    for (const ip of ['93.184.216.34', '2606:4700:4700::1111']) expect(refuseAddress(ip, []), ip).toBeNull();
  });

  it('production: https only, no credentials in the URL; literals refused without a lookup', () => {
    expect(() => guard.checkUrl('http://93.184.216.34/')).toThrow(GuardRefusal);
    expect(() => guard.checkUrl('https://user:pw@93.184.216.34/')).toThrow(/credentials/);
    expect(() => guard.checkUrl('https://0x7f.1/')).toThrow(/loopback/);
    expect(guard.checkUrl('https://93.184.216.34/hook').hostname).toBe('93.184.216.34');
  });
});
