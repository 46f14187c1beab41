import { beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { signUp } from './support/actions.js';
import { grantAdmin, subscribeWs, waitForSubscribers } from './support/audit.js';

describe.each(backends())('live audit events when the store stops answering (%s)', (backend) => {
  const app = useTestApp(backend);
  let url: string;
  beforeAll(async () => {
    url = await app.listen();
  });

  it('regression: an open subscription ends with INTERNAL_SERVER_ERROR instead of waiting forever, and a new one works once the store answers', async () => {
    const admin = await signUp(app);
    await grantAdmin(app, admin.userId);
    const received = subscribeWs(url, admin.accessToken);
    await waitForSubscribers(app, 1);
    const store = app.deps.store;
    const ping = store.ping;
    // A store that stopped answering: its ping never settles.
    store.ping = () => new Promise<void>(() => {});
    try {
      await expect.poll(() => received.isEnded(), { timeout: 15_000 }).toBe(true);
    } finally {
      store.ping = ping;
    }
    expect(received.errors).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(app.logs.some((line) => line.includes('audit feed lost the store'))).toBe(true);
    await received.close();
    await waitForSubscribers(app, 0);

    const again = subscribeWs(url, admin.accessToken);
    try {
      await waitForSubscribers(app, 1);
      const user = await signUp(app);
      await expect.poll(() => again.events.some((e) => e.userId === user.userId), { timeout: 5_000 }).toBe(true);
    } finally {
      await again.close();
    }
  });
});
