import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { recordAudit } from '../src/modules/audit/service.js';
import { webhookDeliveries } from '../src/modules/webhooks/tables.js';
import { startWebhookWorker } from '../src/modules/webhooks/worker.js';
import { backends, type TestApp } from './support/app.js';
import { signIn, signUp } from './support/actions.js';
import {
  advance,
  createWebhook,
  RECEIVER_ENV,
  signUpAdmin,
  startReceiver,
  useWebhookInstances,
  verifies,
  waitForDelivery,
  type Answer,
  type Receiver,
} from './support/webhooks.js';

describe.each(backends())('webhooks on two instances and across crashes (%s)', (backend) => {
  let a: TestApp;
  let b: TestApp;
  useWebhookInstances((x, y) => ((a = x), (b = y)), backend, RECEIVER_ENV);
  const receivers: Receiver[] = [];
  const receiver = async (answer?: (n: number) => Answer) => {
    const r = await startReceiver(a.clock, answer);
    receivers.push(r);
    return r;
  };
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
  });

  it('two instances deliver each event exactly once', async () => {
    const token = await signUpAdmin(a);
    const target = await receiver();
    const hook = await createWebhook(a, token, { url: target.url, events: ['user.login'] });
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => signUp(i % 2 ? a : b)));
    await Promise.all(users.flatMap((u) => [signIn(a, u.email), signIn(b, u.email)]));
    await expect.poll(() => target.requests.length, { timeout: 15_000 }).toBe(12);
    const ids = target.requests.map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(12);
    expect(new Set(target.requests.map((r) => r.json.data.id)).size).toBe(12);
    expect(target.requests.every((r) => verifies(r, hook.secret))).toBe(true);
    // The receiver answers before the worker records it: wait for the rows to say so.
    const rows = () => a.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.id));
    await expect.poll(async () => (await rows()).map((r) => [r.status, r.attempts]), { timeout: 10_000 }).toEqual(Array(12).fill(['SUCCEEDED', 1]));
  });

  it('a worker killed mid-delivery: its claim expires and another instance retries it, with the same webhook-id', async () => {
    const token = await signUpAdmin(a);
    const target = await receiver((n) => (n === 1 ? 'hang' : 204));
    const hook = await createWebhook(a, token, { url: target.url, events: ['user.login'] });
    // Only a's worker runs, so it is the one to claim the delivery.
    await b.deps.webhooks.stop();
    await signIn(a, (await signUp(a)).email);
    await expect.poll(() => target.requests.length, { timeout: 10_000 }).toBe(1);
    // Killed mid-attempt: the claim stays, as a dead process leaves it.
    await a.deps.webhooks.stop({ release: false });
    const [held] = await a.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.id));
    expect(held).toMatchObject({ status: 'PENDING', attempts: 1 });
    expect(held!.claimedBy).not.toBeNull();
    b.deps.webhooks = await startWebhookWorker(b.deps);
    advance(b, 61_000);
    const done = await waitForDelivery(b, token, hook.id, (d) => d.status === 'SUCCEEDED');
    expect(done.attempts).toBe(2);
    expect(target.requests.map((r) => r.headers['webhook-id'])).toEqual([done.id, done.id]);
    a.deps.webhooks = await startWebhookWorker(a.deps);
  });

  it('committed events only: a rolled-back change delivers nothing, and events committed while no worker ran are delivered later', async () => {
    const token = await signUpAdmin(a);
    const target = await receiver();
    await createWebhook(a, token, { url: target.url, events: ['user.updated'] });
    const [rolledBack, committed] = [await signUp(a), await signUp(a)];
    const meta = { requestId: 'webhook-test', ip: null, userAgent: null };
    await a.deps.db
      .transaction(async (tx) => {
        await recordAudit(a.deps, tx, { action: 'user.updated', userId: rolledBack.userId, meta });
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    // No worker anywhere (a crash of the whole deployment) while the change commits.
    await a.deps.webhooks.stop();
    await b.deps.webhooks.stop();
    await a.deps.db.transaction((tx) => recordAudit(a.deps, tx, { action: 'user.updated', userId: committed.userId, meta }));
    a.deps.webhooks = await startWebhookWorker(a.deps);
    b.deps.webhooks = await startWebhookWorker(b.deps);
    await expect.poll(() => target.requests.map((r) => r.json.data.userId), { timeout: 10_000 }).toContain(committed.userId);
    expect(target.requests.map((r) => r.json.data.userId)).not.toContain(rolledBack.userId);
    expect(target.requests).toHaveLength(1);
  });
});
