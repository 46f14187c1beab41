import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, login, me, signUp, uniqueEmail } from './support/actions.js';
import { backends, createShared, createTestApp, type TestApp } from './support/app.js';
import { haveChromium, launchChromium } from './support/browser.js';

/**
 * The pages behind the mailed links, in a real browser (Debian's Chromium driven by
 * playwright-core): the link from the log is opened, the page's own script calls the API under
 * its strict CSP, and the result is checked through the API. pages.links.test.ts checks the
 * headers and documents over HTTP; this checks that a person clicking the link gets there.
 */

/** The link of the last mail the log mailer printed to `to`, on the gateway's listening origin. */
async function linkInLog(app: TestApp, origin: string, to: string, path: string): Promise<string> {
  await app.deps.messages.idle();
  const mails = app.logs.map((line) => JSON.parse(line) as { mail?: { to: string; text: string } }).filter((r) => r.mail?.to === to);
  const link = new RegExp(`https?://\\S+/${path}\\?token=[\\w%-]+`).exec(mails.at(-1)?.mail?.text ?? '')?.[0];
  expect(link, `a ${path} link in the log for ${to}`).toBeDefined();
  const url = new URL(link!);
  return `${origin}${url.pathname}${url.search}`;
}

/** A page that records CSP violations and script errors, which must stay empty. */
async function openPage(browser: Browser, problems: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // A failed request is reported below, with its URL.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
  });
  page.on('response', (response) => {
    // The browser asks for /favicon.ico on its own; the gateway has none.
    if (response.status() >= 400 && new URL(response.url()).pathname !== '/favicon.ico') problems.push(`${response.status()} ${response.url()}`);
  });
  return page;
}

describe.runIf(haveChromium).each(backends())('the mailed links in a browser (%s)', (backend) => {
  let app: TestApp;
  let browser: Browser;
  let origin: string;
  const problems: string[] = [];
  beforeAll(async () => {
    app = await createTestApp(await createShared(backend));
    origin = new URL(await app.listen()).origin;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('reset-password: the form sets the new password, the old one stops working, and the token leaves the address bar', async () => {
    const user = await signUp(app);
    expectOk(await app.gql('mutation($e: String!) { requestPasswordReset(email: $e) }', { e: user.email }));
    const page = await openPage(browser, problems);
    await page.goto(await linkInLog(app, origin, user.email, 'reset-password'));
    expect(page.url()).not.toContain('token=');
    const password = 'a brand new browser passphrase';
    await page.getByLabel('New password', { exact: true }).fill(password);
    await page.getByLabel('Repeat the new password').fill(password);
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Your password is set');
    expectOk(await login(app, user.email, password));
    expect((await login(app, user.email)).errors?.[0]?.extensions.code).toBe('INVALID_CREDENTIALS');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('reset-password: a weak password shows the server’s reason and leaves the link usable', async () => {
    const user = await signUp(app);
    expectOk(await app.gql('mutation($e: String!) { requestPasswordReset(email: $e) }', { e: user.email }));
    const page = await openPage(browser, problems);
    await page.goto(await linkInLog(app, origin, user.email, 'reset-password'));
    await page.getByLabel('New password', { exact: true }).fill('password1');
    await page.getByLabel('Repeat the new password').fill('password1');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/list of common or breached passwords/);
    expect(await page.getByRole('status').getAttribute('class')).toContain('error');
    await page.getByLabel('New password', { exact: true }).fill('a second, better passphrase');
    await page.getByLabel('Repeat the new password').fill('a second, better passphrase');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Your password is set');
    expectOk(await login(app, user.email, 'a second, better passphrase'));
    expect(problems).toEqual([]);
    await page.close();
  });

  it('verify-email: nothing happens on load (a mail scanner spends no link); the click verifies the address', async () => {
    const user = await signUp(app);
    expectOk(await app.gql('mutation { requestEmailVerification }', {}, { token: user.accessToken }));
    const page = await openPage(browser, problems);
    await page.goto(await linkInLog(app, origin, user.email, 'verify-email'));
    await page.getByRole('button', { name: 'Verify email address' }).waitFor();
    expect(expectOk(await me(app, user.accessToken)).me.emailVerified).toBe(false);
    await page.getByRole('button', { name: 'Verify email address' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Your email address is verified');
    expect(expectOk(await me(app, user.accessToken)).me.emailVerified).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('magic-link: the click signs in, the session lives in HttpOnly cookies the page script cannot read', async () => {
    const user = await signUp(app, { email: uniqueEmail('browser-magic') });
    expectOk(await app.gql('mutation($e: String!) { requestMagicLink(email: $e) }', { e: user.email }));
    const page = await openPage(browser, problems);
    await page.goto(await linkInLog(app, origin, user.email, 'magic-link'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain(`Signed in as ${user.email}`);
    const cookies = await page.context().cookies(origin);
    expect(cookies.find((c) => c.name.includes('access_token'))).toMatchObject({ httpOnly: true });
    expect(await page.evaluate(() => document.cookie)).not.toContain('access_token');
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe.runIf(haveChromium)('GraphiQL in a browser with no network beyond the gateway', () => {
  let app: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    app = await createTestApp(await createShared('embedded'));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('regression: renders its editor with the example operations while every request to another host is refused (it used to load from a CDN)', async () => {
    const origin = new URL(await app.listen()).origin;
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    // Refused in the browser, before any connection: the test sends nothing off this machine.
    await page.route(
      (url) => url.origin !== origin,
      (route) => {
        elsewhere.push(route.request().url());
        return route.abort();
      },
    );
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${origin}/graphql`);
    await page.locator('.graphiql-container').first().waitFor();
    // The editor renders spaces as no-break spaces.
    await expect.poll(async () => (await page.locator('.graphiql-query-editor').textContent())?.replace(/\u00a0/g, ' ')).toContain('mutation Register');
    expect(elsewhere).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
