import { afterEach, describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { expectOk, signIn, signUp } from './support/actions.js';
import {
  advance,
  createWebhook,
  deliveries,
  signUpAdmin,
  startReceiver,
  verifies,
  waitForDelivery,
  type Answer,
  type DeliveryJson,
  type Receiver,
} from './support/webhooks.js';

const ENV = {
  WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1',
  WEBHOOK_TIMEOUT: '500ms',
  WEBHOOK_RETRY_SCHEDULE: '5s,5m',
  WEBHOOK_DISABLE_AFTER: '2',
  ACCESS_TOKEN_TTL: '1h',
};
const SECRET_SHAPE = /^whsec_[A-Za-z0-9+/]{43}=$/;

describe.each(backends())('webhook delivery (%s)', (backend) => {
  const app = useTestApp(backend, { env: ENV });
  const receivers: Receiver[] = [];
  const receiver = async (answer?: (n: number) => Answer) => {
    const r = await startReceiver(app.clock, answer);
    receivers.push(r);
    return r;
  };
  /** Attempt `n` is over and failed: the delivery waits for its retry (due later than now). */
  const retrying = (n: number) => (d: DeliveryJson) =>
    d.status === 'PENDING' && d.attempts === n && d.nextAttemptAt !== null && Date.parse(d.nextAttemptAt) > app.clock.now();
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
  });

  it('a login produces one delivery, signed per Standard Webhooks, with the AuditEvent fields and no secret', async () => {
    const token = await signUpAdmin(app);
    const target = await receiver();
    const hook = await createWebhook(app, token, { url: target.url, events: ['user.login'] });
    expect(hook.secret).toMatch(SECRET_SHAPE);
    const user = await signUp(app);
    await signIn(app, user.email);
    const delivery = await waitForDelivery(app, token, hook.id, (d) => d.status === 'SUCCEEDED');
    expect(delivery).toMatchObject({ eventType: 'user.login', attempts: 1, responseStatus: 204 });
    expect(target.requests).toHaveLength(1);
    const [request] = target.requests;
    expect(verifies(request!, hook.secret)).toBe(true);
    expect(verifies(request!, `whsec_${Buffer.alloc(32, 7).toString('base64')}`)).toBe(false);
    expect(request!.headers['webhook-id']).toBe(delivery.id);
    expect(request!.json).toMatchObject({ type: 'user.login', data: { id: delivery.eventId, action: 'user.login', userId: user.userId, outcome: 'SUCCESS' } });
    expect(Object.keys(request!.json.data).sort()).toEqual(['action', 'actorId', 'at', 'id', 'ip', 'metadata', 'outcome', 'requestId', 'userAgent', 'userId']);
    expect(request!.body).not.toContain(hook.secret.slice(6));
    expect(request!.body).not.toContain(user.accessToken);
  });

  it('500, 500, then 204: three attempts with one webhook-id, each verifying', async () => {
    const token = await signUpAdmin(app);
    const target = await receiver((n) => (n < 3 ? 500 : 204));
    const hook = await createWebhook(app, token, { url: target.url, events: ['user.login'] });
    const user = await signUp(app);
    await signIn(app, user.email);
    expect((await waitForDelivery(app, token, hook.id, retrying(1))).responseStatus).toBe(500);
    advance(app, 5_600);
    expect((await waitForDelivery(app, token, hook.id, retrying(2))).responseStatus).toBe(500);
    advance(app, 5.6 * 60_000);
    const done = await waitForDelivery(app, token, hook.id, (d) => d.status === 'SUCCEEDED');
    expect(done).toMatchObject({ attempts: 3, responseStatus: 204 });
    expect(target.requests.map((r) => r.headers['webhook-id'])).toEqual([done.id, done.id, done.id]);
    expect(new Set(target.requests.map((r) => r.body)).size).toBe(1);
    expect(target.requests.every((r) => verifies(r, hook.secret))).toBe(true);
  });

  it('a receiver that never answers: the attempt times out and is retried', async () => {
    const token = await signUpAdmin(app);
    const target = await receiver((n) => (n === 1 ? 'hang' : 200));
    const hook = await createWebhook(app, token, { url: target.url, events: ['user.login'] });
    await signIn(app, (await signUp(app)).email);
    const first = await waitForDelivery(app, token, hook.id, retrying(1));
    expect(first.responseStatus).toBeNull();
    advance(app, 5_600);
    expect(await waitForDelivery(app, token, hook.id, (d) => d.status === 'SUCCEEDED')).toMatchObject({ attempts: 2, responseStatus: 200 });
    expect(target.requests).toHaveLength(2);
  });

  it('after the last retry a delivery is FAILED, and WEBHOOK_DISABLE_AFTER failed deliveries in a row disable the endpoint', async () => {
    const token = await signUpAdmin(app);
    const target = await receiver(() => 503);
    const hook = await createWebhook(app, token, { url: target.url, events: ['user.login'] });
    const user = await signUp(app);
    await signIn(app, user.email);
    await signIn(app, user.email);
    await expect.poll(async () => (await deliveries(app, token, hook.id)).filter(retrying(1)).length, { timeout: 10_000 }).toBe(2);
    advance(app, 5_600);
    await expect.poll(async () => (await deliveries(app, token, hook.id)).filter(retrying(2)).length, { timeout: 10_000 }).toBe(2);
    advance(app, 5.6 * 60_000);
    await expect.poll(async () => (await deliveries(app, token, hook.id, 'FAILED')).length, { timeout: 10_000 }).toBe(2);
    const { webhook } = expectOk(await app.gql(`query($id: ID!) { webhook(id: $id) { enabled disabledReason } }`, { id: hook.id }, { token }));
    expect(webhook.enabled).toBe(false);
    expect(webhook.disabledReason).toMatch(/2 consecutive failed deliveries/);
    const audit = expectOk(await app.gql(`{ auditLogs(filter: { actions: ["webhook.disabled"] }, first: 50) { nodes { metadata } } }`, {}, { token }));
    expect(audit.auditLogs.nodes.map((n: { metadata: { webhookId: string } }) => n.metadata.webhookId)).toContain(hook.id);
    // Disabled: new events are not delivered to it; enabling clears the reason.
    await signIn(app, user.email);
    const enabled = expectOk(
      await app.gql(`mutation($id: ID!) { updateWebhook(id: $id, input: { enabled: true }) { enabled disabledReason } }`, { id: hook.id }, { token }),
    );
    expect(enabled.updateWebhook).toEqual({ enabled: true, disabledReason: null });
    expect((await deliveries(app, token, hook.id)).length).toBe(2);
  });

  it('event filters: exact actions, prefix.* and empty (every event)', async () => {
    const token = await signUpAdmin(app);
    const [exact, prefix, all] = [await receiver(), await receiver(), await receiver()];
    const exactHook = await createWebhook(app, token, { url: exact.url, events: ['user.registered'] });
    const prefixHook = await createWebhook(app, token, { url: prefix.url, events: ['user.*'] });
    const allHook = await createWebhook(app, token, { url: all.url });
    const user = await signUp(app);
    await signIn(app, user.email);
    await app.gql(`mutation { logout }`, {}, { token: user.accessToken });
    const mine = (r: Receiver) =>
      r.requests
        .filter((q) => q.json.data.userId === user.userId)
        .map((q) => q.json.type)
        .sort();
    await expect.poll(() => mine(prefix), { timeout: 10_000 }).toEqual(['user.login', 'user.logout', 'user.registered']);
    await expect.poll(() => mine(all).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    await waitForDelivery(app, token, exactHook.id, (d) => d.eventType === 'user.registered');
    expect(mine(exact)).toEqual(['user.registered']);
    expect(prefixHook.id).not.toBe(allHook.id);
    const bad = await app.gql(`mutation { createWebhook(input: { url: "${exact.url}", events: ["user.logn"] }) { secret } }`, {}, { token });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'events' });
  });

  it('rotation: for 24 hours both secrets verify the signatures, then only the new one', async () => {
    const token = await signUpAdmin(app);
    const target = await receiver();
    const hook = await createWebhook(app, token, { url: target.url, events: ['user.login'] });
    const rotated = expectOk(await app.gql(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { id } } }`, { id: hook.id }, { token }));
    const fresh = rotated.rotateWebhookSecret.secret as string;
    expect(fresh).toMatch(SECRET_SHAPE);
    expect(fresh).not.toBe(hook.secret);
    const user = await signUp(app);
    await signIn(app, user.email);
    await expect.poll(() => target.requests.length, { timeout: 10_000 }).toBe(1);
    const during = target.requests[0]!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(during, hook.secret)).toBe(true);
    expect(verifies(during, fresh)).toBe(true);
    app.clock.advance(24 * 3_600_000 + 1000);
    await signIn(app, user.email);
    await expect.poll(() => target.requests.length, { timeout: 10_000 }).toBe(2);
    const after = target.requests[1]!;
    const admin = await signUpAdmin(app);
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(after, fresh)).toBe(true);
    expect(verifies(after, hook.secret)).toBe(false);
    const audit = expectOk(
      await app.gql(
        `{ auditLogs(filter: { actions: ["webhook.secret_rotated", "webhook.created"] }, first: 100) { nodes { metadata } } }`,
        {},
        { token: admin },
      ),
    );
    expect(JSON.stringify(audit)).not.toContain(hook.secret.slice(6));
    expect(JSON.stringify(audit)).not.toContain(fresh.slice(6));
  });

  it('ping sends webhook.test now; redeliver sends the same delivery again with the same webhook-id', async () => {
    const token = await signUpAdmin(app);
    const target = await receiver();
    const hook = await createWebhook(app, token, { url: target.url, events: ['user.login'] });
    const ping = expectOk(await app.gql(`mutation($id: ID!) { pingWebhook(id: $id) { id eventType eventId status } }`, { id: hook.id }, { token })).pingWebhook;
    expect(ping).toMatchObject({ eventType: 'webhook.test', eventId: null, status: 'PENDING' });
    await waitForDelivery(app, token, hook.id, (d) => d.id === ping.id && d.status === 'SUCCEEDED');
    expect(target.requests[0]!.json.type).toBe('webhook.test');
    expect(verifies(target.requests[0]!, hook.secret)).toBe(true);
    const again = expectOk(
      await app.gql(`mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id status } }`, { id: ping.id }, { token }),
    ).redeliverWebhook;
    expect(again).toEqual({ id: ping.id, status: 'PENDING' });
    await expect.poll(() => target.requests.length, { timeout: 10_000 }).toBe(2);
    expect(target.requests[1]!.headers['webhook-id']).toBe(ping.id);
    expect(target.requests[1]!.body).toBe(target.requests[0]!.body);
  });

  it('old deliveries are pruned after WEBHOOK_RETENTION (30 days)', async () => {
    const token = await signUpAdmin(app);
    const target = await receiver();
    const hook = await createWebhook(app, token, { url: target.url, events: ['user.login'] });
    const ping = expectOk(await app.gql(`mutation($id: ID!) { pingWebhook(id: $id) { id } }`, { id: hook.id }, { token })).pingWebhook;
    await waitForDelivery(app, token, hook.id, (d) => d.id === ping.id && d.status === 'SUCCEEDED');
    advance(app, 31 * 86_400_000);
    const admin = await signUpAdmin(app);
    await expect.poll(async () => (await deliveries(app, admin, hook.id)).length, { timeout: 10_000 }).toBe(0);
  });
});
