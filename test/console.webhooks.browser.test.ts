import type { Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf, expectOk, login, signUp, uniqueEmail } from './support/actions.js';
import { backends } from './support/app.js';
import { haveChromium, seriousViolations } from './support/browser.js';
import { PHONE, useConsole } from './support/console.js';
import { deliveries, RECEIVER_ENV, type Receiver, startReceiver, verifies, WEBHOOK_FIELDS } from './support/webhooks.js';

/**
 * The console's Webhooks page in Chromium: what an admin does there, checked through the API and
 * at a real receiver on a loopback port (the SSRF guard lets 127.0.0.1 through: RECEIVER_ENV).
 */
describe.runIf(haveChromium).each(backends())('the console’s Webhooks page (%s)', (backend) => {
  const ui = useConsole(backend, 'webhooks', RECEIVER_ENV);
  const { app } = ui;
  const problems: string[] = [];
  const receivers: Receiver[] = [];
  beforeEach(() => {
    problems.length = 0;
  });
  afterEach(async () => {
    for (const receiver of receivers.splice(0)) await receiver.close();
  });

  async function receiver(): Promise<Receiver> {
    const started = await startReceiver(app.clock);
    receivers.push(started);
    return started;
  }

  async function webhooksPage(): Promise<Page> {
    const page = await ui.page(problems);
    await ui.signInAsAdmin(page);
    await ui.open(page, 'Webhooks');
    return page;
  }

  /** Fills the New webhook form; returns the signing secret the page shows once. */
  async function createInPage(page: Page, url: string, events: string, description = ''): Promise<string> {
    const form = page.getByRole('form', { name: 'New webhook' });
    await form.getByLabel('URL').fill(url);
    await form.getByLabel('Events').fill(events);
    await form.getByLabel('Description').fill(description);
    await form.getByRole('button', { name: 'Create webhook' }).click();
    const secret = form.locator('code.secret');
    await secret.waitFor();
    return (await secret.textContent()) ?? '';
  }

  const rowOf = (page: Page, url: string) => page.getByRole('row').filter({ has: page.getByRole('link', { name: url, exact: true }) });

  async function webhooksByApi(): Promise<Array<{ id: string; url: string; events: string[]; enabled: boolean; description: string | null }>> {
    return expectOk(await app.gql(`{ webhooks { ${WEBHOOK_FIELDS} } }`, {}, { token: await ui.adminToken() })).webhooks;
  }

  /** A failed login of a new user: one user.login_failed audit event; returns the user's id. */
  async function failedLogin(): Promise<string> {
    const user = await signUp(app, { email: uniqueEmail('console-hook') });
    expect(codeOf(await login(app, user.email, 'not the password at all'))).toBe('INVALID_CREDENTIALS');
    return user.userId;
  }

  /** Waits until `target` got the failed login of `userId` (the worker delivers in the background). */
  async function receivedFor(target: Receiver, userId: string) {
    const of = () => target.of('user.login_failed').filter((r) => r.json.data.userId === userId);
    await expect.poll(() => of().length, { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);
    return of()[0]!;
  }

  /** Clicks Refresh until the deliveries table has a row matching `text` (bounded by the poll). */
  async function untilDeliveryRow(page: Page, text: RegExp): Promise<void> {
    const rows = page.getByRole('row').filter({ hasText: text });
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          await page.getByText('Loading…').waitFor({ state: 'detached' });
          return rows.count();
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBeGreaterThan(0);
  }

  it('shows the empty state first; a webhook created in the page is listed, and a failed login reaches the receiver signed with the secret shown once and is listed as succeeded (204) among its deliveries', async () => {
    const target = await receiver();
    const page = await webhooksPage();
    await page.getByText('No webhooks yet.').waitFor();
    expect(await seriousViolations(page), 'empty').toEqual([]);
    await ui.shot(page, 'empty');

    const secret = await createInPage(page, target.url, 'user.login_failed', 'CRM');
    expect(secret).toMatch(/^whsec_/);
    const row = rowOf(page, target.url);
    await row.waitFor();
    expect(await row.getByRole('cell').allTextContents()).toEqual([`${target.url}CRM`, 'user.login_failed', 'enabled', expect.any(String)]);
    expect(await webhooksByApi()).toEqual([expect.objectContaining({ url: target.url, events: ['user.login_failed'], enabled: true, description: 'CRM' })]);
    expect(await seriousViolations(page), 'listed').toEqual([]);
    await ui.shot(page, 'listed');

    const userId = await failedLogin();
    const request = await receivedFor(target, userId);
    expect(verifies(request, secret)).toBe(true);

    await page.getByRole('link', { name: target.url, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: `Deliveries to ${target.url}` }).waitFor();
    // The receiver answered 204: the worker records it just after, so the page may need a Refresh.
    await untilDeliveryRow(page, /user\.login_failed.*succeeded/);
    const delivery = page.getByRole('row').filter({ hasText: 'user.login_failed' });
    expect(await delivery.count()).toBe(1);
    const cells = await delivery.getByRole('cell').allTextContents();
    expect(cells.slice(1, 5)).toEqual(['user.login_failed', 'succeeded', '1', '204']);
    const [byApi] = await deliveries(app, await ui.adminToken(), (await webhooksByApi())[0]!.id);
    expect(byApi).toMatchObject({ id: request.headers['webhook-id'], eventType: 'user.login_failed', status: 'SUCCEEDED', attempts: 1, responseStatus: 204 });
    expect(await seriousViolations(page), 'deliveries').toEqual([]);
    await ui.shot(page, 'deliveries');
    await page.setViewportSize(PHONE);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(await seriousViolations(page), 'deliveries at phone width').toEqual([]);
    await ui.shot(page, 'deliveries-phone');
    await page.getByRole('link', { name: '← Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(await seriousViolations(page), 'webhooks at phone width').toEqual([]);
    await ui.shot(page, 'listed-phone');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Ping sends a webhook.test event to the receiver; Redeliver sends the same delivery (same webhook-id) again', async () => {
    const target = await receiver();
    const page = await webhooksPage();
    const secret = await createInPage(page, target.url, 'user.login_failed');
    await rowOf(page, target.url).getByRole('button', { name: 'Ping' }).click();
    await page.getByText('Ping queued.').waitFor();
    await expect.poll(() => target.of('webhook.test').length, { timeout: 10_000, interval: 50 }).toBe(1);
    const ping = target.of('webhook.test')[0]!;
    expect(verifies(ping, secret)).toBe(true);

    await page.getByRole('link', { name: target.url, exact: true }).click();
    await untilDeliveryRow(page, /webhook\.test.*succeeded/);
    await page.getByRole('row').filter({ hasText: 'webhook.test' }).getByRole('button', { name: 'Redeliver' }).click();
    await page.getByText('Queued again.').waitFor();
    await expect.poll(() => target.of('webhook.test').length, { timeout: 10_000, interval: 50 }).toBe(2);
    expect(target.of('webhook.test')[1]!.headers['webhook-id']).toBe(ping.headers['webhook-id']);
    // The same delivery, due again with a fresh schedule (attempts start over): still one row, succeeded again.
    await untilDeliveryRow(page, /webhook\.test.*succeeded\s*1\s*204/);
    expect(await page.getByRole('row').filter({ hasText: 'webhook.test' }).count()).toBe(1);
    const [again] = await deliveries(app, await ui.adminToken(), (await webhooksByApi()).find((h) => h.url === target.url)!.id);
    expect(again).toMatchObject({ id: ping.headers['webhook-id'], eventType: 'webhook.test', status: 'SUCCEEDED', attempts: 1 });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Disable stops deliveries (an event while disabled is never sent) and Enable resumes them; the API shows each state', async () => {
    const target = await receiver();
    // A second endpoint for the same events, always enabled: once it has an event, the outbox has
    // passed that event for every endpoint, so its absence at `target` is not merely lateness.
    const witness = await receiver();
    const page = await webhooksPage();
    await createInPage(page, target.url, 'user.login_failed');
    await createInPage(page, witness.url, 'user.login_failed');
    const row = rowOf(page, target.url);
    await row.getByRole('button', { name: 'Disable' }).click();
    await page.getByText('Disabled.', { exact: true }).waitFor();
    await row.getByRole('cell', { name: 'disabled' }).waitFor();
    expect((await webhooksByApi()).find((h) => h.url === target.url)?.enabled).toBe(false);
    await ui.shot(page, 'disabled');
    const whileDisabled = await failedLogin();
    await receivedFor(witness, whileDisabled);

    await row.getByRole('button', { name: 'Enable' }).click();
    await page.getByText('Enabled.', { exact: true }).waitFor();
    await row.getByRole('cell', { name: 'enabled', exact: true }).waitFor();
    expect((await webhooksByApi()).find((h) => h.url === target.url)?.enabled).toBe(true);
    const afterEnable = await failedLogin();
    await receivedFor(target, afterEnable);
    await receivedFor(witness, afterEnable);
    expect(target.requests.map((r) => r.json.data.userId)).toEqual([afterEnable]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Rotate secret asks first and shows the new secret; the next delivery verifies with the new secret and, for 24 hours, the old one', async () => {
    const target = await receiver();
    const page = await webhooksPage();
    const old = await createInPage(page, target.url, 'user.login_failed');
    const row = rowOf(page, target.url);
    await row.getByRole('button', { name: 'Rotate secret' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('The old one keeps signing beside it for 24 hours.');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row.getByRole('button', { name: 'Rotate secret' }).click();
    await dialog.getByRole('button', { name: 'Rotate' }).click();
    await page.getByText('Secret rotated.').waitFor();
    // Its own note, naming the webhook (the create form's note still shows the first secret).
    const shown = page
      .getByRole('status')
      .filter({ hasText: `New signing secret for ${target.url}` })
      .locator('code.secret');
    await shown.waitFor();
    const rotated = (await shown.textContent()) ?? '';
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(old);
    await ui.shot(page, 'rotated');

    const request = await receivedFor(target, await failedLogin());
    expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(request, rotated)).toBe(true);
    expect(verifies(request, old)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Delete asks first: Cancel keeps the webhook, Delete removes it from the page and from the API', async () => {
    const target = await receiver();
    const page = await webhooksPage();
    await createInPage(page, target.url, 'user.login_failed');
    const row = rowOf(page, target.url);
    await row.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain(`Delete the webhook to ${target.url}?`);
    expect(await seriousViolations(page), 'confirmation').toEqual([]);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await webhooksByApi()).map((h) => h.url)).toContain(target.url);
    await row.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Webhook deleted.').waitFor();
    await row.waitFor({ state: 'detached' });
    expect((await webhooksByApi()).map((h) => h.url)).not.toContain(target.url);
    expect(problems).toEqual([]);
    await page.close();
  });
});
