import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { uniqueEmail } from './support/actions.js';
import { createBrowser } from './support/oauth-browser.js';
import { OAUTH_ENV, runFlow, useTestIdp } from './support/oauth.js';

/** The finishOAuth document pages.js sends (its `${AUTH}` filled in). */
function finishDocument(): string {
  const source = readFileSync(new URL('../src/pages/pages.js', import.meta.url), 'utf8');
  const auth = /const AUTH = '([^']+)'/.exec(source)?.[1] ?? '';
  return /`(mutation Finish[^`]*)`/.exec(source)![1]!.replace(/\$\{AUTH\}/g, auth);
}

describe.each(backends())('the /oauth/callback page, APP_URL = the gateway (%s)', (backend) => {
  const app = useTestApp(backend, { env: OAUTH_ENV });
  const idp = useTestIdp(app);

  it('is the default landing: served with the strict CSP, no inline script, its assets one level up; its call signs in', async () => {
    idp().signInAs({ sub: randomUUID(), email: uniqueEmail('page'), emailVerified: true });
    const landing = await runFlow(createBrowser(app), 'idp');
    expect(landing.url.pathname).toBe('/oauth/callback');
    const page = await app.fetch(landing.url.pathname + landing.url.search);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    for (const [, asset] of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      expect((await app.fetch(new URL(asset!, landing.url).pathname)).status, asset).toBe(200);
    }
    const headers = { 'content-type': 'application/json', 'x-graphql-yoga-csrf': '1' };
    const response = await app.fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: finishDocument(), variables: { code: landing.code } }),
    });
    const body = (await response.json()) as { data?: { finishOAuth: { mfaRequired: boolean } }; errors?: unknown };
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    expect(body.data?.finishOAuth.mfaRequired).toBe(false);
    expect(response.headers.getSetCookie().join('\n')).toMatch(/access_token=.*HttpOnly/i);
  });
});
