import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { expectOk, login, signIn } from './actions.js';
import { type Backend, type TestApp, useTestApp } from './app.js';
import { launchChromium, openPage, screenshot } from './browser.js';
import { enrollTotp, nextTotp, verify2fa } from './mfa.js';

export const ADMIN_EMAIL = 'console-admin@example.com';
export const ADMIN_PASSWORD = 'the console admin passphrase';
export const PHONE = { width: 390, height: 844 };

/**
 * A loopback TCP port that forwards to another, opened before the app exists: the app's
 * PUBLIC_URL (and so its WebAuthn origin and OAuth callback) must name the port the browser
 * uses, and an app learns its own port only when it listens. Holding this port from the start
 * leaves no window in which another process could take it.
 */
async function openForward(): Promise<{ port: number; to(port: number): void; close(): Promise<void> }> {
  let target: number | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (target === undefined) return void client.destroy();
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    to: (port) => {
      target = port;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export type ConsoleFixture = {
  app: TestApp;
  /** http://localhost:PORT: a secure context (WebAuthn works there) and a host a WebAuthn RP ID can be. */
  origin(): string;
  browser(): Browser;
  /** The seeded admin's TOTP secret. */
  secret(): string;
  /** A page on the console's origin; `others` are further loopback origins it may reach (an IdP). */
  page(problems: string[], others?: string[]): Promise<Page>;
  shot(page: Page, name: string): Promise<void>;
  /** Password, then the TOTP code, in the browser; waits for the navigation. */
  signInAsAdmin(page: Page): Promise<void>;
  /** A full admin session through the API (password, then TOTP). */
  adminToken(): Promise<string>;
  /** Follows a navigation link and waits until the page has loaded its data. */
  open(page: Page, name: string): Promise<void>;
};

/**
 * The admin console of a describe block: an app with a seeded admin (TOTP on, as an admin of a
 * real deployment would have), served on http://localhost:PORT, and Debian's Chromium. WebAuthn
 * refuses an IP address as RP ID, so the origin is localhost rather than 127.0.0.1.
 */
export function useConsole(backend: Backend, name: string, env: Record<string, string> = {}): ConsoleFixture {
  let forward: Awaited<ReturnType<typeof openForward>> | undefined;
  let browser: Browser | undefined;
  let secret = '';
  beforeAll(async () => {
    forward = await openForward();
  });
  const origin = () => `http://localhost:${forward!.port}`;
  const app = useTestApp(backend, { env: () => ({ ADMIN_EMAIL, ADMIN_PASSWORD, PUBLIC_URL: origin(), ...env }) });
  beforeAll(async () => {
    forward!.to((await app.app.start(0, '127.0.0.1')).port);
    browser = await launchChromium();
    secret = (await enrollTotp(app, (await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken)).secret;
  });
  afterAll(async () => {
    await browser?.close();
    await forward?.close();
  });

  async function open(page: Page, label: string): Promise<void> {
    await page.getByRole('link', { name: label, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: label }).waitFor();
    await page.getByText('Loading…').waitFor({ state: 'detached' });
  }

  return {
    app,
    origin,
    browser: () => browser!,
    secret: () => secret,
    page: (problems, others = []) => openPage(browser!, origin(), problems, undefined, others),
    shot: (page, shotName) => screenshot(page, `${backend}-${name}-${shotName}`),
    async signInAsAdmin(page) {
      await page.goto(`${origin()}/admin`);
      await page.getByLabel('Email').fill(ADMIN_EMAIL);
      await page.getByLabel('Password').fill(ADMIN_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByLabel('Code').fill(nextTotp(app, secret));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('link', { name: 'Users', exact: true }).waitFor();
    },
    async adminToken() {
      const pending = expectOk(await login(app, ADMIN_EMAIL, ADMIN_PASSWORD)).login.accessToken;
      return expectOk(await verify2fa(app, pending, 'TOTP', nextTotp(app, secret))).verify2fa.accessToken;
    },
    open,
  };
}
