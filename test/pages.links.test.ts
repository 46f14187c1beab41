import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backends, type TestApp, useTestApp } from './support/app.js';
import { expectOk, me, signUp, uniqueEmail } from './support/actions.js';

/** The GraphQL documents pages.js sends, by operation name (its template's `${AUTH}` filled in). */
function pageOperations(): Map<string, string> {
  const source = readFileSync(new URL('../src/pages/pages.js', import.meta.url), 'utf8');
  const auth = /const AUTH = '([^']+)'/.exec(source)?.[1] ?? '';
  const docs = [...source.matchAll(/[`'](mutation (\w+)[^`']*)[`']/g)];
  return new Map(docs.map((m) => [m[2]!, m[1]!.replace(/\$\{AUTH\}/g, auth)]));
}

/** What the page's script sends: a same-origin JSON POST with the CSRF header (and the cookies). */
async function pageCall(app: TestApp, operation: string, variables: Record<string, unknown>, bearer?: string) {
  const query = pageOperations().get(operation);
  expect(query, `pages.js sends ${operation}`).toBeDefined();
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-graphql-yoga-csrf': '1' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await app.fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown };
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return { data: body.data!, headers: response.headers };
}

/** The link of the last mail the log mailer printed to `to` (the embedded default's console). */
async function linkInLog(app: TestApp, to: string, path: string): Promise<URL> {
  await app.deps.messages.idle();
  const mails = app.logs.map((line) => JSON.parse(line) as { mail?: { to: string; text: string } }).filter((r) => r.mail?.to === to);
  const text = mails.at(-1)?.mail?.text ?? '';
  const link = new RegExp(`https?://\\S+/${path}\\?token=[\\w%-]+`).exec(text)?.[0];
  expect(link, `a ${path} link in the log for ${to}`).toBeDefined();
  return new URL(link!);
}

async function expectPage(app: TestApp, link: URL) {
  const page = await app.fetch(`${link.pathname}${link.search}`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  expect(page.headers.get('cache-control')).toBe('no-store');
  const html = await page.text();
  // A strict CSP holds only without inline script or style.
  expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  expect(html).not.toMatch(/<style|\sstyle=|\son\w+=/);
  for (const [, asset] of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
    const response = await app.fetch(new URL(asset!, link).pathname);
    expect(response.status, asset).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(csp);
  }
}

describe.each(backends())('pages behind the mailed links, APP_URL = the gateway (%s)', (backend) => {
  // No SMTP_URL: mails go to the log, as on the embedded default.
  const app = useTestApp(backend, {
    env: { RATE_LIMITS: 'send.recipient=100/1m,sendHourly.recipient=100/1h,login.ip=1000/1m,register.ip=1000/1m,send.ip=1000/1m,verify.ip=1000/1m' },
  });

  it('serves the page and its script (strict CSP, no inline code); the verify-email link in the log verifies the address', async () => {
    const user = await signUp(app);
    expectOk(await app.gql('mutation { requestEmailVerification }', {}, { token: user.accessToken }));
    const link = await linkInLog(app, user.email, 'verify-email');
    expect(link.origin).toBe(app.deps.config.publicUrl);
    await expectPage(app, link);
    const script = await app.fetch('/_gateway/pages.js');
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain('x-graphql-yoga-csrf');

    expect((await pageCall(app, 'VerifyEmail', { token: link.searchParams.get('token') })).data.verifyEmail).toBe(true);
    expect(expectOk(await me(app, user.accessToken)).me.emailVerified).toBe(true);
  });

  it('the reset-password link opens the new-password form, and what it sends sets the password', async () => {
    const user = await signUp(app);
    expectOk(await app.gql('mutation($e: String!) { requestPasswordReset(email: $e) }', { e: user.email }));
    const link = await linkInLog(app, user.email, 'reset-password');
    await expectPage(app, link);
    expect(await (await app.fetch(link.pathname)).text()).toContain('autocomplete="new-password"');

    const password = 'a brand new passphrase';
    expect((await pageCall(app, 'ResetPassword', { token: link.searchParams.get('token'), password })).data.resetPassword).toBe(true);
    expectOk(await app.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { email: user.email, password } }));
  });

  it('the magic-link link signs in with HttpOnly cookies', async () => {
    const user = await signUp(app, { email: uniqueEmail('magic') });
    expectOk(await app.gql('mutation($e: String!) { requestMagicLink(email: $e) }', { e: user.email }));
    const link = await linkInLog(app, user.email, 'magic-link');
    await expectPage(app, link);

    const { data, headers } = await pageCall(app, 'MagicLink', { token: link.searchParams.get('token') });
    expect(data.loginWithMagicLink).toMatchObject({ mfaRequired: false, user: { email: user.email } });
    expect(headers.getSetCookie().join('\n')).toMatch(/access_token=.*HttpOnly/i);
  });
});

describe('pages behind the mailed links, APP_URL = a front end of its own', () => {
  const app = useTestApp('embedded', { env: { APP_URL: 'https://app.test' } });

  it('serves none of them: the links point at the front end', async () => {
    for (const path of ['/verify-email?token=x', '/reset-password?token=x', '/magic-link?token=x', '/_gateway/pages.js']) {
      expect((await app.fetch(path)).status, path).toBe(404);
    }
  });
});
