import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { createShared, createTestApp, createTestClock, type Backend, type TestApp } from './app.js';
import { expectOk, signUp } from './actions.js';
import { grantAdmin } from './audit.js';

/** A request the receiver got: the raw body, as signed. */
export type Received = {
  headers: IncomingHttpHeaders;
  body: string;
  json: { type: string; timestamp: string; data: Record<string, unknown> };
  /** The deployment's clock when it arrived: what a receiver's clock would read. */
  receivedAt: number;
};

/** What the receiver answers request number `n` (from 1): a status, a redirect, or never. */
export type Answer = number | { redirect: string } | 'hang';

/**
 * A real webhook receiver on a loopback port (node:http), as a product would run one. It records
 * every request; `answer` says how it replies. Hung requests are ended by close().
 */
export async function startReceiver(clock: { now(): number }, answer: (n: number, request: Received) => Answer = () => 204) {
  const requests: Received[] = [];
  const hung = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Received['json'];
      try {
        json = JSON.parse(body);
      } catch {
        json = { type: '', timestamp: '', data: {} };
      }
      const request = { headers: req.headers, body, json, receivedAt: clock.now() };
      requests.push(request);
      const reply = answer(requests.length, request);
      if (reply === 'hang') return void hung.add(res);
      if (typeof reply === 'object') return void res.writeHead(302, { location: reply.redirect }).end();
      res.writeHead(reply).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    requests,
    /** Requests of one event type. */
    of: (type: string) => requests.filter((r) => r.json.type === type),
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/**
 * Verifies a request as a receiver does, with the standardwebhooks package (not the gateway's code).
 * Its timestamp check reads Date.now(): it is pinned, for this synchronous call only, to the
 * deployment's clock when the request arrived, so a test that moves the clock by hours still verifies.
 */
export function verifies(request: Received, secret: string): boolean {
  vi.useFakeTimers({ toFake: ['Date'], now: request.receivedAt });
  try {
    new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  } finally {
    vi.useRealTimers();
  }
}

/** A user holding the admin role (every cap, webhooks:* included). */
export async function signUpAdmin(app: TestApp): Promise<string> {
  const admin = await signUp(app);
  await grantAdmin(app, admin.userId);
  return admin.accessToken;
}

export const WEBHOOK_FIELDS = 'id url description events enabled disabledReason createdAt updatedAt';
export const DELIVERY_FIELDS = 'id webhookId eventId eventType status attempts lastAttemptAt nextAttemptAt responseStatus createdAt';

export function createWebhookRaw(app: TestApp, token: string, input: Record<string, unknown>) {
  return app.gql(`mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { ${WEBHOOK_FIELDS} } } }`, { input }, { token });
}

export async function createWebhook(app: TestApp, token: string, input: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const { createWebhook } = expectOk(await createWebhookRaw(app, token, input));
  return { id: createWebhook.webhook.id, secret: createWebhook.secret };
}

export type DeliveryJson = {
  id: string;
  eventId: string | null;
  eventType: string;
  status: string;
  attempts: number;
  responseStatus: number | null;
  nextAttemptAt: string | null;
};

export async function deliveries(app: TestApp, token: string, webhookId: string, status?: string): Promise<DeliveryJson[]> {
  const result = await app.gql(
    `query($id: ID!, $status: WebhookDeliveryStatus) { webhookDeliveries(webhookId: $id, status: $status, first: 100) { nodes { ${DELIVERY_FIELDS} } } }`,
    { id: webhookId, status },
    { token },
  );
  return expectOk(result).webhookDeliveries.nodes;
}

/** Waits until the endpoint has a delivery matching `predicate` (the worker runs in the background). */
export async function waitForDelivery(app: TestApp, token: string, webhookId: string, predicate: (d: DeliveryJson) => boolean): Promise<DeliveryJson> {
  await expect.poll(async () => (await deliveries(app, token, webhookId)).some(predicate), { timeout: 10_000, interval: 25 }).toBe(true);
  return (await deliveries(app, token, webhookId)).find(predicate)!;
}

/** Moves the deployment's clock and has the worker look for due deliveries at once. */
export function advance(app: TestApp, ms: number): void {
  app.clock.advance(ms);
  app.deps.webhooks.wake();
}

/** Where the tests' receivers listen: the guard lets this one loopback address through. */
export const RECEIVER_ENV = { WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1' };

/**
 * Two instances of one deployment (as useInstances in app.ts), with `env` (the allow-list for the
 * loopback receiver): same database and store, same clock.
 */
export function useWebhookInstances(set: (a: TestApp, b: TestApp) => void, backend: Backend, env: Record<string, string>): void {
  let pair: TestApp[] = [];
  beforeAll(async () => {
    const shared = await createShared(backend);
    const clock = createTestClock();
    const first = await createTestApp(shared, { clock, env });
    pair = [first, await createTestApp(shared, { clock, env, peer: backend === 'embedded' ? first : undefined })];
    set(pair[0]!, pair[1]!);
  });
  afterAll(async () => {
    // The second first: an embedded second instance uses the first one's database and store.
    for (const app of pair.reverse()) await app.close();
  });
}
