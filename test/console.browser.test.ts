import type { Page } from 'playwright-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { codeOf, expectOk, login, logout, me, signIn, signUp, type Tokens, uniqueEmail } from './support/actions.js';
import { backends } from './support/app.js';
import { haveChromium, seriousViolations } from './support/browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, PHONE, useConsole } from './support/console.js';
import { nextTotp } from './support/mfa.js';

/**
 * The admin console (GET /admin) in a real browser: Debian's Chromium driven by playwright-core,
 * under the console's own CSP, on both backends. Everything it shows comes from the public API;
 * what it does is checked through the API afterwards, as another client would see it.
 */
const PAGES = ['Users', 'Roles', 'Audit', 'Analytics', 'Webhooks', 'Providers'] as const;

describe.runIf(haveChromium).each(backends())('the admin console in a browser (%s)', (backend) => {
  const ui = useConsole(backend, 'console');
  const { app, signInAsAdmin, adminToken, open } = ui;
  const problems: string[] = [];
  beforeEach(() => {
    problems.length = 0;
  });

  const shot = (page: Page, name: string) => ui.shot(page, name);
  const newPage = () => ui.page(problems);

  /**
   * Waits until the page's live subscription receives events: a subscription gets no replay, so a
   * probe (a failed login of `probe`) is sent again until the log shows it.
   */
  async function untilLive(page: Page, probe: Tokens): Promise<void> {
    const seen = page.getByRole('log').locator('li', { hasText: 'user.login_failed' }).filter({ hasText: probe.userId });
    await expect
      .poll(
        async () => {
          expect(codeOf(await login(app, probe.email, 'not the password at all'))).toBe('INVALID_CREDENTIALS');
          return seen.count();
        },
        { timeout: 3_000, interval: 300 },
      )
      .toBeGreaterThan(0);
  }

  it('signs the seeded admin in with the password and then a TOTP code; each page passes axe at 1280 px and at phone width', async () => {
    const page = await newPage();
    await page.goto(`${ui.origin()}/admin`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await seriousViolations(page), 'sign-in').toEqual([]);
    await shot(page, 'sign-in');
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Code').waitFor();
    expect(await seriousViolations(page), 'second factor').toEqual([]);
    await shot(page, 'second-factor');
    await page.getByLabel('Code').fill(nextTotp(app, ui.secret()));
    // Keyboard only from here: Enter submits the form.
    await page.getByLabel('Code').press('Enter');
    await page.getByRole('link', { name: 'Users', exact: true }).waitFor();
    expect(await page.locator('header').textContent()).toContain(ADMIN_EMAIL);
    // The navigation by keyboard, with a visible focus ring.
    await page.getByRole('link', { name: 'Users', exact: true }).focus();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement;
      return { text: element.textContent, outline: getComputedStyle(element).outlineStyle };
    });
    expect(focused).toEqual({ text: 'Roles', outline: 'solid' });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Roles' }).waitFor();
    // The new page's heading has the focus, not the link left behind.
    expect(await page.evaluate(() => `${document.activeElement?.tagName}:${document.activeElement?.textContent}`)).toBe('H1:Roles');
    // Time passes (the test clock moves only when told): the sign-in is in the past of `until`, which is exclusive.
    app.clock.advance(1_000);
    for (const name of PAGES) {
      await open(page, name);
      // No error shown: Webhooks and Providers either work or say "Not available on this server".
      expect(await page.locator('.error').allTextContents(), name).toEqual([]);
      if (name === 'Webhooks' || name === 'Providers') {
        // Built in parallel against contract-next: until this server has the field, the page says so.
        const root = name === 'Webhooks' ? 'webhooks' : 'oauthProviderConfigs';
        const fields = expectOk(await app.gql('{ __type(name: "Query") { fields { name } } }')).__type.fields.map((f: { name: string }) => f.name);
        const unavailable = await page.getByText('Not available on this server.').count();
        expect(unavailable, name).toBe(fields.includes(root) ? 0 : 1);
      }
      if (name === 'Analytics') {
        // Two charts (activity, latency), and the sign-ins so far: the API one above and this one.
        await expect.poll(() => page.locator('canvas').count()).toBe(2);
        expect(await page.locator('.facts dt').allTextContents()).toEqual(['Sign-ups', 'Sign-ins', 'Failed sign-ins']);
        expect(Number(await page.locator('.facts dd').nth(1).textContent())).toBeGreaterThanOrEqual(2);
      }
      expect(await seriousViolations(page), name).toEqual([]);
      await shot(page, name.toLowerCase());
    }
    await open(page, 'Users');
    await page.getByRole('link', { name: ADMIN_EMAIL }).click();
    await page.getByRole('heading', { level: 1, name: ADMIN_EMAIL }).waitFor();
    await page.getByRole('heading', { name: 'Identities' }).waitFor();
    expect(await seriousViolations(page), 'user').toEqual([]);
    await shot(page, 'user');
    // Phone width: nothing wider than the screen (wide tables scroll inside their own box).
    await page.setViewportSize(PHONE);
    for (const name of PAGES) {
      await open(page, name);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), name).toBeLessThanOrEqual(PHONE.width);
      expect(await seriousViolations(page), `${name} at phone width`).toEqual([]);
      await shot(page, `${name.toLowerCase()}-phone`);
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('finds a user by search; disabling them ends their session and their login is refused (ACCOUNT_DISABLED)', async () => {
    const user = await signUp(app, { email: uniqueEmail('console-disable') });
    await signUp(app, { email: uniqueEmail('console-other') });
    const page = await newPage();
    await signInAsAdmin(page);
    await page.getByLabel('Search').fill(user.email);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('1 user', { exact: true }).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.getByRole('link', { name: user.email }).click();
    await page.getByRole('button', { name: 'Disable user' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
    await page.getByText('Disabled: every session ended.').waitFor();
    await page.getByRole('button', { name: 'Enable user' }).waitFor();
    await shot(page, 'user-disabled');
    expect(codeOf(await login(app, user.email))).toBe('ACCOUNT_DISABLED');
    expect(codeOf(await me(app, user.accessToken))).toBe('UNAUTHENTICATED');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('deletes a user only after the confirmation: Cancel keeps them, Delete removes them and their login fails', async () => {
    const user = await signUp(app, { email: uniqueEmail('console-delete') });
    const page = await newPage();
    await signInAsAdmin(page);
    await page.goto(`${ui.origin()}/admin#/users/${user.userId}`);
    await page.getByRole('button', { name: 'Delete user' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain(`Delete ${user.email} for good?`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expectOk(await login(app, user.email));
    await page.getByRole('button', { name: 'Delete user' }).click();
    // Escape cancels too (a modal dialog), and the keyboard reaches the buttons.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Delete user' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    expect(codeOf(await login(app, user.email))).toBe('INVALID_CREDENTIALS');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('grants a role it created; an operator with that role is refused granting admin, whose caps they lack (least privilege)', async () => {
    const operator = await signUp(app, { email: uniqueEmail('console-operator') });
    const target = await signUp(app, { email: uniqueEmail('console-target') });
    const page = await newPage();
    await signInAsAdmin(page);
    await open(page, 'Roles');
    await page.getByLabel('Name', { exact: true }).fill('support');
    await page.getByLabel('Description').fill('Help desk');
    for (const cap of ['users:read', 'users:write', 'roles:read', 'roles:assign']) await page.getByRole('checkbox', { name: cap, exact: true }).check();
    await page.getByRole('button', { name: 'Save role' }).click();
    await page.getByText('Role support saved.').waitFor();
    // A route in the hash: the same document, the session stays.
    await page.goto(`${ui.origin()}/admin#/users/${operator.userId}`);
    await page.getByRole('heading', { level: 1, name: operator.email }).waitFor();
    await page.getByRole('checkbox', { name: /^support/ }).check();
    await page.getByRole('button', { name: 'Save roles' }).click();
    await page.getByText('Roles saved.').waitFor();
    expect(expectOk(await me(app, (await signIn(app, operator.email)).accessToken)).me.roles).toContain('support');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email').fill(operator.email);
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await open(page, 'Users');
    await page.getByLabel('Search').fill(target.email);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('link', { name: target.email }).click();
    await page.getByRole('heading', { level: 1, name: target.email }).waitFor();
    await page.getByRole('checkbox', { name: /^admin/ }).check();
    await page.getByRole('button', { name: 'Save roles' }).click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/^FORBIDDEN: .*least privilege/);
    await shot(page, 'least-privilege');
    const admin = await adminToken();
    const after = expectOk(await app.gql('query($id: ID!) { user(id: $id) { roles } }', { id: target.userId }, { token: admin })).user.roles;
    expect(after).not.toContain('admin');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the live stream shows another client’s login at the top within 3 s, and holds events while paused', async () => {
    const page = await newPage();
    await signInAsAdmin(page);
    await open(page, 'Audit');
    await untilLive(page, await signUp(app, { email: uniqueEmail('console-probe') }));
    const first = await signUp(app, { email: uniqueEmail('console-live') });
    const second = await signUp(app, { email: uniqueEmail('console-live') });
    expectOk(await login(app, first.email));
    const log = page.getByRole('log');
    const loginOf = (userId: string) => log.locator('li', { hasText: 'user.login' }).filter({ hasText: userId });
    await loginOf(first.userId).waitFor({ timeout: 3_000 });
    expectOk(await login(app, second.email));
    await loginOf(second.userId).waitFor({ timeout: 3_000 });
    // Newest first.
    expect(await log.locator('li').first().textContent()).toMatch(new RegExp(`user\\.login .*${second.userId}`));
    await shot(page, 'audit-live');

    await page.getByRole('button', { name: 'Pause' }).click();
    const third = await signUp(app, { email: uniqueEmail('console-live') });
    await page.getByRole('button', { name: /^Resume \([1-9]\d* new\)$/ }).waitFor();
    expect(await log.textContent()).not.toContain(third.userId);
    await page.getByRole('button', { name: /^Resume/ }).click();
    expect(await log.locator('li').first().textContent()).toContain(third.userId);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the live stream filtered by action shows only those events', async () => {
    const probe = await signUp(app, { email: uniqueEmail('console-filter') });
    const quiet = await signUp(app, { email: uniqueEmail('console-filter') });
    const failing = await signUp(app, { email: uniqueEmail('console-filter') });
    const page = await newPage();
    await signInAsAdmin(page);
    await open(page, 'Audit');
    await page.getByLabel('Filter by action').fill('user.login_failed');
    await page.getByRole('button', { name: 'Watch' }).click();
    const log = page.getByRole('log');
    const failedLoginOf = (userId: string) => log.locator('li', { hasText: 'user.login_failed' }).filter({ hasText: userId });
    await untilLive(page, probe);
    expectOk(await login(app, quiet.email));
    expect(codeOf(await login(app, failing.email, 'not the password at all'))).toBe('INVALID_CREDENTIALS');
    await failedLoginOf(failing.userId).waitFor({ timeout: 3_000 });
    // Events reach a subscriber in order: the login before this one was filtered out, not merely late.
    expect(await log.textContent()).not.toContain(quiet.userId);
    expect(await log.locator('li').filter({ hasNotText: probe.userId }).count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('returns to sign-in when the live stream reports the session revoked (logout of every session elsewhere)', async () => {
    const page = await newPage();
    await signInAsAdmin(page);
    await open(page, 'Audit');
    await untilLive(page, await signUp(app, { email: uniqueEmail('console-probe') }));
    expectOk(await logout(app, await adminToken(), true));
    // No click: the stream's UNAUTHENTICATED answer alone signs the console out.
    await page.getByText('Your session was revoked. Sign in again.').waitFor();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await shot(page, 'revoked');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('an expired access token is refreshed once, in the background: the console stays signed in', async () => {
    const page = await newPage();
    await signInAsAdmin(page);
    // Past ACCESS_TOKEN_TTL (15 minutes), well within REFRESH_TOKEN_TTL.
    app.clock.advance(16 * 60_000);
    await open(page, 'Roles');
    expect(await page.getByRole('cell', { name: /^admin/ }).count()).toBeGreaterThan(0);
    await open(page, 'Users');
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('an expired session (access and refresh token past their lifetimes) returns to sign-in on the next request', async () => {
    const page = await newPage();
    await signInAsAdmin(page);
    await open(page, 'Roles');
    // Last in this file: the clock moves past REFRESH_TOKEN_TTL (30 days).
    app.clock.advance(31 * 24 * 3_600_000);
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByText('Your session has ended. Sign in again.').waitFor();
    await page.getByLabel('Email').waitFor();
    expect(await page.getByRole('link', { name: 'Users', exact: true }).count()).toBe(0);
    await shot(page, 'expired');
    expect(problems).toEqual([]);
    await page.close();
  });
});
