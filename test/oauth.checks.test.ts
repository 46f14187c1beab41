import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, uniqueEmail } from './support/actions.js';
import { createBrowser } from './support/oauth-browser.js';
import { startTestIdp, type TestIdp } from './support/oauth-idp.js';
import { callbackFor, finish, OAUTH_ENV, openCallback, runFlow, toCallback, upsertProvider } from './support/oauth.js';
import { rateLimits } from './support/messages.js';

const START = `mutation($p: String!, $r: String) { startOAuth(provider: $p, redirectTo: $r) { url } }`;

/** The reason of the latest oauth.login_failed row. */
async function lastFailure(app: ReturnType<typeof useTestApp>) {
  return (await auditRows(app, { action: 'oauth.login_failed' })).at(-1)?.metadata;
}

describe.each(backends())('the flow refuses what it must (%s)', (backend) => {
  const app = useTestApp(backend, { env: OAUTH_ENV });
  let idp: TestIdp;
  const someone = () => idp.signInAs({ sub: randomUUID(), email: uniqueEmail('chk'), emailVerified: true });

  beforeAll(async () => {
    idp = await startTestIdp([callbackFor('idp'), callbackFor('idp-off')]);
    const common = { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret };
    await upsertProvider(app, { name: 'idp', ...common });
    await upsertProvider(app, { name: 'idp-off', ...common });
  });
  afterAll(() => idp?.close());

  it('state reuse: the callback works once; opened again it is INVALID_TOKEN', async () => {
    someone();
    const browser = createBrowser(app);
    const callback = await toCallback(browser, 'idp');
    expect((await openCallback(browser, callback)).code).toBeTruthy();
    expect(await openCallback(browser, callback)).toMatchObject({ error: 'INVALID_TOKEN', code: null });
    expect(await lastFailure(app)).toMatchObject({ provider: 'idp', reason: 'state_unknown' });
  });

  it('state from another browser (no binding cookie): INVALID_TOKEN, so a victim cannot be signed into the attacker (login CSRF)', async () => {
    someone();
    const callback = await toCallback(createBrowser(app), 'idp');
    expect(await openCallback(createBrowser(app), callback)).toMatchObject({ error: 'INVALID_TOKEN', code: null });
    expect(await lastFailure(app)).toMatchObject({ reason: 'browser_mismatch' });
  });

  it('a tampered state is INVALID_TOKEN', async () => {
    someone();
    const browser = createBrowser(app);
    const callback = await toCallback(browser, 'idp');
    callback.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    expect(await openCallback(browser, callback)).toMatchObject({ error: 'INVALID_TOKEN' });
    expect(await lastFailure(app)).toMatchObject({ reason: 'state_unknown' });
  });

  it('a state older than 10 minutes is INVALID_TOKEN', async () => {
    someone();
    const browser = createBrowser(app);
    const callback = await toCallback(browser, 'idp');
    app.clock.advance(10 * 60_000 + 1);
    expect(await openCallback(browser, callback)).toMatchObject({ error: 'INVALID_TOKEN' });
    expect(await lastFailure(app)).toMatchObject({ reason: 'state_expired' });
  });

  it('a nonce mismatch in the id_token is INVALID_CREDENTIALS (openid-client check)', async () => {
    someone();
    idp.tamperNextIdToken({ claims: { nonce: 'another-nonce' } });
    expect(await runFlow(createBrowser(app), 'idp')).toMatchObject({ error: 'INVALID_CREDENTIALS', code: null });
    expect((await lastFailure(app))?.reason).toMatch(/nonce/);
  });

  it('a wrong issuer in the id_token is INVALID_CREDENTIALS', async () => {
    someone();
    idp.tamperNextIdToken({ claims: { iss: 'http://127.0.0.1:1/another-issuer' } });
    expect(await runFlow(createBrowser(app), 'idp')).toMatchObject({ error: 'INVALID_CREDENTIALS' });
    expect((await lastFailure(app))?.reason).toMatch(/iss/);
  });

  it('an id_token signed by another key (same kid) is INVALID_CREDENTIALS', async () => {
    someone();
    idp.tamperNextIdToken({ key: 'other' });
    expect(await runFlow(createBrowser(app), 'idp')).toMatchObject({ error: 'INVALID_CREDENTIALS' });
    expect((await lastFailure(app))?.reason).toMatch(/SIGNATURE|signature/);
  });

  it('a replayed provider code (on a new state of the same browser) is refused by the provider: INVALID_CREDENTIALS', async () => {
    someone();
    const browser = createBrowser(app);
    const first = await toCallback(browser, 'idp');
    expect((await openCallback(browser, first)).code).toBeTruthy();
    const second = await toCallback(browser, 'idp');
    second.searchParams.set('code', first.searchParams.get('code')!);
    expect(await openCallback(browser, second)).toMatchObject({ error: 'INVALID_CREDENTIALS' });
    expect((await lastFailure(app))?.reason).toMatch(/invalid_grant/);
  });

  it("the provider's own error (access_denied) ends in a redirect with UNAUTHENTICATED", async () => {
    idp.signInAs('deny');
    expect(await runFlow(createBrowser(app), 'idp')).toMatchObject({ error: 'UNAUTHENTICATED', code: null });
    expect(await lastFailure(app)).toMatchObject({ reason: 'provider_error:access_denied' });
  });

  it('a redirectTo outside APP_URL is refused before the provider (no open redirect); one under APP_URL is honoured', async () => {
    const refused = await runFlow(createBrowser(app), 'idp', 'https://evil.example/steal');
    expect(refused.url.origin + refused.url.pathname).toBe('http://gateway.test/oauth/callback');
    expect(refused.error).toBe('BAD_USER_INPUT');
    for (const bad of ['https://evil.example/', 'http://gateway.test.evil.example/', '//evil.example/x', 'javascript:alert(1)']) {
      expectCode(await app.gql(START, { p: 'idp', r: bad }), 'BAD_USER_INPUT');
    }
    someone();
    const landed = await runFlow(createBrowser(app), 'idp', 'http://gateway.test/app/done?tab=2');
    expect(landed.url.pathname).toBe('/app/done');
    expect(landed.url.searchParams.get('tab')).toBe('2');
    expect(landed.code).toBeTruthy();
  });

  it('a disabled provider: not listed, its start is NOT_FOUND, and a flow begun before it was disabled fails at the callback', async () => {
    someone();
    const browser = createBrowser(app);
    const callback = await toCallback(browser, 'idp-off');
    await upsertProvider(app, { name: 'idp-off', issuer: idp.issuer, clientId: idp.clientId, enabled: false });
    const { data } = await app.gql('{ oauthProviders { name displayName } }');
    expect(data?.oauthProviders.map((p: { name: string }) => p.name)).toEqual(['idp']);
    expect(await openCallback(browser, callback)).toMatchObject({ error: 'NOT_FOUND' });
    expect(await runFlow(createBrowser(app), 'idp-off')).toMatchObject({ error: 'NOT_FOUND' });
    expectCode(await app.gql(START, { p: 'idp-off' }), 'NOT_FOUND');
  });

  it('no token in any URL, log line or audit row: only the one-time code is on the landing URL', async () => {
    someone();
    const browser = createBrowser(app);
    const callback = await toCallback(browser, 'idp');
    const landing = await openCallback(browser, callback);
    const auth = (await finish(app, landing.code!)).data?.finishOAuth;
    expect([...landing.url.searchParams.keys()]).toEqual(['code']);
    const logs = app.logs.join('\n');
    const audit = JSON.stringify(await auditRows(app, { userId: auth.user.id }));
    for (const secret of [callback.searchParams.get('code')!, callback.searchParams.get('state')!, landing.code!, auth.accessToken, idp.clientSecret]) {
      expect(logs).not.toContain(secret);
      expect(audit).not.toContain(secret);
    }
  });
});

describe.each(backends())('the callback and finishOAuth are limited per IP (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ...OAUTH_ENV, RATE_LIMITS: rateLimits({ 'oauth.ip': '2/1m' }) } });
  let idp: TestIdp;
  beforeAll(async () => {
    idp = await startTestIdp([callbackFor('idp')]);
    await upsertProvider(app, { name: 'idp', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret });
  });
  afterAll(() => idp?.close());

  it('oauth.ip counts the start, the callback and finishOAuth: past the limit (2 here) RATE_LIMITED, on the redirect and in GraphQL', async () => {
    idp.signInAs({ sub: randomUUID(), email: uniqueEmail('rl'), emailVerified: true });
    const landing = await runFlow(createBrowser(app), 'idp');
    expect(landing.code).toBeTruthy();
    const result = await finish(app, landing.code!);
    expectCode(result, 'RATE_LIMITED');
    expect(await runFlow(createBrowser(app), 'idp')).toMatchObject({ error: 'RATE_LIMITED' });
    app.clock.advance(61_000);
    expect((await finish(app, landing.code!)).errors?.[0]?.extensions.code).toBe('INVALID_TOKEN');
  });
});
