import type { CDPSession, Page } from 'playwright-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { expectOk } from './support/actions.js';
import { backends } from './support/app.js';
import { haveChromium, seriousViolations } from './support/browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, useConsole } from './support/console.js';
import { amrOf } from './support/passkeys.js';

const getCredentials = (cdp: CDPSession, authenticatorId: string) => cdp.send('WebAuthn.getCredentials', { authenticatorId });
type Credential = Awaited<ReturnType<typeof getCredentials>>['credentials'][number];

/**
 * Passkeys in the console with Chromium's virtual authenticator (DevTools protocol, WebAuthn
 * domain): a platform authenticator with resident keys and user verification, as a laptop's. The
 * app's origin is http://localhost:PORT, a secure context, and its RP ID (APP_URL's host) is
 * localhost. The credential is carried from page to page with its signature counter.
 */
describe.runIf(haveChromium).each(backends())('passkeys in the console (%s)', (backend) => {
  const ui = useConsole(backend, 'passkeys');
  const { app } = ui;
  const problems: string[] = [];
  /** The admin's passkey as the last page's authenticator left it (counter included). */
  let saved: Credential[] = [];
  beforeEach(() => {
    problems.length = 0;
  });

  /** A page with a virtual authenticator holding `credentials`; `keep()` saves what it holds afterwards. */
  async function pageWithAuthenticator(credentials: Credential[]) {
    const page = await ui.page(problems);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    for (const credential of credentials) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    const held = async () => (await getCredentials(cdp, authenticatorId)).credentials;
    return { page, held, keep: async () => void (saved = await held()) };
  }

  /** The AuthPayload the page receives from a mutation: the tokens the console now holds. */
  function answerOf(page: Page, field: string): Promise<{ accessToken: string; mfaRequired: boolean }> {
    return page
      .waitForResponse((r) => r.url().endsWith('/graphql') && !!r.request().postData()?.includes(field))
      .then(async (r) => (await r.json()).data[field]);
  }

  /** The console's session as the API sees it: its amr, and whether the session is MFA-verified. */
  async function sessionOf(accessToken: string) {
    const sessions = expectOk(await app.gql('{ mySessions { current mfaVerified } }', {}, { token: accessToken })).mySessions;
    return { amr: amrOf(accessToken), mfaVerified: sessions.find((s: { current: boolean }) => s.current)?.mfaVerified };
  }

  async function adminPasskeys() {
    const token = await ui.adminToken();
    return expectOk(await app.gql('{ me { mfaMethods passkeys { id name } } }', {}, { token })).me as {
      mfaMethods: string[];
      passkeys: Array<{ name: string }>;
    };
  }

  const signedIn = (page: Page) => page.getByRole('link', { name: 'Users', exact: true }).waitFor();

  it('the admin adds a passkey on their own user page; the API lists it by its name and PASSKEY joins the sign-in factors', async () => {
    const { page, held, keep } = await pageWithAuthenticator([]);
    await ui.signInAsAdmin(page);
    await ui.open(page, 'Users');
    await page.getByRole('link', { name: ADMIN_EMAIL }).click();
    const section = page.getByRole('region', { name: 'Passkeys' });
    await section.getByText('None.').waitFor();
    await section.getByLabel('Passkey name').fill('Console laptop');
    await section.getByRole('button', { name: 'Add a passkey' }).click();
    await section.getByText('Passkey added.').waitFor();
    await section.getByText(/^Console laptop · added/).waitFor();
    expect(await held()).toHaveLength(1);
    const after = await adminPasskeys();
    expect(after.passkeys.map((p) => p.name)).toEqual(['Console laptop']);
    expect(after.mfaMethods).toContain('PASSKEY');
    expect(await seriousViolations(page)).toEqual([]);
    await ui.shot(page, 'added');
    await keep();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('"Use a passkey" with no email (a discoverable credential) opens the console; the session is multi-factor (amr hwk, mfa)', async () => {
    const { page, keep } = await pageWithAuthenticator(saved);
    await page.goto(`${ui.origin()}/admin`);
    const answer = answerOf(page, 'finishPasskeyLogin');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await signedIn(page);
    expect(await page.locator('header').textContent()).toContain(ADMIN_EMAIL);
    const auth = await answer;
    expect(auth.mfaRequired).toBe(false);
    expect(await sessionOf(auth.accessToken)).toEqual({ amr: ['hwk', 'mfa'], mfaVerified: true });
    await keep();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('"Use a passkey" with the email typed first signs in with that account’s passkey', async () => {
    const { page, keep } = await pageWithAuthenticator(saved);
    await page.goto(`${ui.origin()}/admin`);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    const options = page.waitForResponse((r) => !!r.request().postData()?.includes('startPasskeyLogin'));
    const answer = answerOf(page, 'finishPasskeyLogin');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await signedIn(page);
    // With an email the options name that account's credential: the one this authenticator holds.
    const allowed = (await (await options).json()).data.startPasskeyLogin.allowCredentials.map((c: { id: string }) => c.id);
    expect(allowed).toEqual([saved[0]!.credentialId.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')]);
    expect((await sessionOf((await answer).accessToken)).amr).toEqual(['hwk', 'mfa']);
    await keep();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('after the password, the passkey is the second factor (method Passkey): amr names both (pwd, hwk, mfa)', async () => {
    const { page, keep } = await pageWithAuthenticator(saved);
    await page.goto(`${ui.origin()}/admin`);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const method = page.getByLabel('Method');
    await method.waitFor();
    expect(await method.locator('option').allTextContents()).toEqual(expect.arrayContaining(['Authenticator app', 'Passkey', 'Recovery code']));
    await method.selectOption({ label: 'Passkey' });
    // No code to type for a passkey.
    expect(await page.getByLabel('Code').count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await ui.shot(page, 'second-factor');
    const answer = answerOf(page, 'finishPasskeyLogin');
    await page.getByRole('button', { name: 'Verify' }).click();
    await signedIn(page);
    expect(await sessionOf((await answer).accessToken)).toEqual({ amr: ['pwd', 'hwk', 'mfa'], mfaVerified: true });
    await keep();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a browser without the passkey is refused: "Use a passkey" shows the error and stays on sign-in', async () => {
    const { page } = await pageWithAuthenticator([]);
    await page.goto(`${ui.origin()}/admin`);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/^NotAllowedError: /);
    expect(await page.getByRole('link', { name: 'Users', exact: true }).count()).toBe(0);
    await ui.shot(page, 'refused');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the admin deletes the passkey after a confirmation; the API lists none and PASSKEY leaves the factors', async () => {
    const { page } = await pageWithAuthenticator(saved);
    await ui.signInAsAdmin(page);
    await ui.open(page, 'Users');
    await page.getByRole('link', { name: ADMIN_EMAIL }).click();
    const section = page.getByRole('region', { name: 'Passkeys' });
    await section.getByRole('button', { name: 'Delete Console laptop' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('Delete the passkey Console laptop?');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await section.getByText('Passkey deleted.').waitFor();
    await section.getByText('None.').waitFor();
    const after = await adminPasskeys();
    expect(after.passkeys).toEqual([]);
    expect(after.mfaMethods).not.toContain('PASSKEY');
    expect(problems).toEqual([]);
    await page.close();
  });
});
