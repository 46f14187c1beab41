import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectOk } from './support/actions.js';
import { backends } from './support/app.js';
import { haveChromium, seriousViolations } from './support/browser.js';
import { ADMIN_EMAIL, PHONE, useConsole } from './support/console.js';
import { rateLimits } from './support/messages.js';
import { nextTotp } from './support/mfa.js';
import { startTestIdp, type TestIdp } from './support/oauth-idp.js';
import { amrOf } from './support/passkeys.js';

const CONFIGS = '{ oauthProviderConfigs { name displayName issuer clientId scopes enabled linkByEmail } }';

/**
 * The console's Providers page in Chromium, with a real OpenID Provider (oidc-provider) on a
 * loopback port, and a sign-in to the console through it: the browser goes to the provider and
 * back, as a person's would, so the page may reach the provider's origin too.
 */
describe.runIf(haveChromium).each(backends())('the console’s Providers page (%s)', (backend) => {
  const ui = useConsole(backend, 'providers', { RATE_LIMITS: rateLimits({ 'oauth.ip': '100000/1m', 'mfa.account': '100000/1m' }) });
  const { app } = ui;
  const problems: string[] = [];
  let idp: TestIdp;
  beforeAll(async () => {
    idp = await startTestIdp([`${ui.origin()}/oauth/idp/callback`]);
  });
  afterAll(() => idp?.close());
  beforeEach(() => {
    problems.length = 0;
  });

  async function providersPage(): Promise<Page> {
    const page = await ui.page(problems, [new URL(idp.issuer).origin]);
    await ui.signInAsAdmin(page);
    await ui.open(page, 'Providers');
    return page;
  }

  async function configs() {
    return expectOk(await app.gql(CONFIGS, {}, { token: await ui.adminToken() })).oauthProviderConfigs;
  }

  const publicList = async () => expectOk(await app.gql('{ oauthProviders { name displayName } }')).oauthProviders;
  const rowOf = (page: Page) => page.getByRole('row').filter({ hasText: '(idp)' });

  /** Saves the provider form after `change` and waits for the page's confirmation. */
  async function save(page: Page, change: (form: ReturnType<Page['getByRole']>) => Promise<void>) {
    const form = page.getByRole('form', { name: /^(New provider|Change idp)$/ });
    await change(form);
    await form.getByRole('button', { name: 'Save provider' }).click();
    await form.getByText('Provider idp saved.').waitFor();
  }

  /** Signs out; the provider buttons of the sign-in page once it has its answer to the public list (asked as it opens). */
  async function signOutToProviderButtons(page: Page): Promise<string[]> {
    const listed = page.waitForResponse((r) => !!r.request().postData()?.includes('oauthProviders'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await listed;
    // Rendered by the next frames.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    return page.locator('.providers a').allTextContents();
  }

  it('shows the empty state; a refused save keeps what was typed; a provider saved in the page is listed as the API exposes it, its secret never shown, and the sign-in page offers it', async () => {
    const page = await providersPage();
    await page.getByText('No providers yet.').waitFor();
    // Regression: a refused save re-rendered the form with its initial values, wiping what was typed.
    const form = page.getByRole('form', { name: 'New provider' });
    await form.getByLabel('Name', { exact: true }).fill('idp');
    await form.getByLabel('Display name').fill('Test IdP');
    await form.getByLabel('Issuer').fill('http://127.0.0.1:9/nothing-listens-here');
    await form.getByLabel('Client id').fill(idp.clientId);
    await form.getByLabel('Enabled', { exact: true }).uncheck();
    await form.getByRole('button', { name: 'Save provider' }).click();
    expect(await form.getByRole('alert').textContent()).toMatch(/^BAD_USER_INPUT: /);
    expect(await form.getByLabel('Display name').inputValue()).toBe('Test IdP');
    expect(await form.getByLabel('Enabled', { exact: true }).isChecked()).toBe(false);
    expect(await configs()).toEqual([]);
    await save(page, async () => {
      await form.getByLabel('Issuer').fill(idp.issuer);
      await form.getByLabel('Client secret').fill(idp.clientSecret);
      await form.getByLabel('Enabled', { exact: true }).check();
    });
    // Saved: the New provider form is empty again.
    expect(await form.getByLabel('Name', { exact: true }).inputValue()).toBe('');
    const row = rowOf(page);
    await row.waitFor();
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells.slice(0, 4)).toEqual(['Test IdP (idp)', `OIDC: ${idp.issuer}`, idp.clientId, 'enabled']);
    expect(await configs()).toEqual([
      {
        name: 'idp',
        displayName: 'Test IdP',
        issuer: idp.issuer,
        clientId: idp.clientId,
        scopes: ['openid', 'email', 'profile'],
        enabled: true,
        linkByEmail: false,
      },
    ]);
    expect(await page.content()).not.toContain(idp.clientSecret);
    expect(await seriousViolations(page), 'listed').toEqual([]);
    await ui.shot(page, 'listed');
    await page.setViewportSize(PHONE);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(await seriousViolations(page), 'at phone width').toEqual([]);
    await ui.shot(page, 'listed-phone');

    await page.setViewportSize({ width: 1280, height: 900 });
    expect(await signOutToProviderButtons(page)).toEqual(['Test IdP']);
    const button = page.getByRole('link', { name: 'Test IdP' });
    expect(new URL((await button.getAttribute('href'))!, ui.origin()).pathname).toBe('/oauth/idp');
    expect(await seriousViolations(page), 'sign-in with a provider').toEqual([]);
    await ui.shot(page, 'sign-in');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Change: unchecking Enabled turns it off (the API’s public list and the sign-in page drop it); checking it and "Link by verified email" turn both on', async () => {
    const page = await providersPage();
    await rowOf(page).getByRole('button', { name: 'Change idp' }).click();
    await save(page, (form) => form.getByLabel('Enabled', { exact: true }).uncheck());
    await rowOf(page).getByRole('cell', { name: 'disabled', exact: true }).waitFor();
    expect((await configs())[0]).toMatchObject({ enabled: false, linkByEmail: false });
    expect(await publicList()).toEqual([]);
    expect(await signOutToProviderButtons(page)).toEqual([]);

    await ui.signInAsAdmin(page);
    await ui.open(page, 'Providers');
    await rowOf(page).getByRole('button', { name: 'Change idp' }).click();
    const form = page.getByRole('form', { name: 'Change idp' });
    // The name is the key of an update: read-only here.
    expect(await form.getByLabel('Name', { exact: true }).getAttribute('readonly')).not.toBeNull();
    // The stored secret is not sent back: the field is empty, and empty keeps it.
    expect(await form.getByLabel('Client secret').inputValue()).toBe('');
    await save(page, async (f) => {
      await f.getByLabel('Enabled', { exact: true }).check();
      await f.getByLabel('Link by verified email').check();
    });
    await rowOf(page).getByRole('cell', { name: 'enabled, links by email' }).waitFor();
    expect((await configs())[0]).toMatchObject({ enabled: true, linkByEmail: true, clientId: idp.clientId });
    expect(await publicList()).toEqual([{ name: 'idp', displayName: 'Test IdP' }]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('signs in to the console through the provider: the admin’s verified email links the identity, then the admin’s TOTP; amr is fed, otp, mfa', async () => {
    idp.signInAs({ sub: 'console-admin-at-idp', email: ADMIN_EMAIL, emailVerified: true, name: 'Console Admin' });
    const page = await ui.page(problems, [new URL(idp.issuer).origin]);
    await page.goto(`${ui.origin()}/admin`);
    await page.getByRole('link', { name: 'Test IdP' }).click();
    // Back from the provider with a one-time code: finishOAuth answers mfaRequired (a provider never skips our factor).
    const code = page.getByLabel('Code');
    await code.waitFor();
    expect(new URL(page.url()).search).toBe('');
    await code.fill(nextTotp(app, ui.secret()));
    const answer = page
      .waitForResponse((r) => r.url().endsWith('/graphql') && !!r.request().postData()?.includes('verify2fa'))
      .then(async (r) => (await r.json()).data.verify2fa);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('link', { name: 'Users', exact: true }).waitFor();
    expect(await page.locator('header').textContent()).toContain(ADMIN_EMAIL);
    const { accessToken } = await answer;
    expect(amrOf(accessToken)).toEqual(['fed', 'otp', 'mfa']);
    expect(expectOk(await app.gql('{ mySessions { current mfaVerified } }', {}, { token: accessToken })).mySessions).toContainEqual({
      current: true,
      mfaVerified: true,
    });
    const identities = expectOk(await app.gql('{ me { identities { provider subject email } } }', {}, { token: accessToken })).me.identities;
    expect(identities).toEqual([{ provider: 'idp', subject: 'console-admin-at-idp', email: ADMIN_EMAIL }]);
    await ui.shot(page, 'signed-in-with-provider');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Delete asks first: Cancel keeps it; Delete removes it from the page, the API and the sign-in page', async () => {
    const page = await providersPage();
    await rowOf(page).getByRole('button', { name: 'Delete idp' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('Delete Test IdP? Its linked identities stay, unusable, until it is added again.');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await configs()).toHaveLength(1);
    await rowOf(page).getByRole('button', { name: 'Delete idp' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Deleted.', { exact: true }).waitFor();
    await page.getByText('No providers yet.').waitFor();
    expect(await configs()).toEqual([]);
    expect(await publicList()).toEqual([]);
    expect(await signOutToProviderButtons(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
