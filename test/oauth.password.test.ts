import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './support/app.js';
import { expectCode, expectOk, login, uniqueEmail } from './support/actions.js';
import { createBrowser } from './support/oauth-browser.js';
import { latestLinkTo, rateLimits, useMessaging } from './support/messages.js';
import { startTestIdp, type TestIdp } from './support/oauth-idp.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, callbackFor, finish, runFlow, upsertProvider } from './support/oauth.js';

const NEW_PASSWORD = 'a brand new passphrase 31';

describe.each(backends())('an account a provider created sets a password by reset (%s)', (backend) => {
  const m = useMessaging(backend, { ADMIN_EMAIL, ADMIN_PASSWORD, RATE_LIMITS: rateLimits({ 'oauth.ip': '100000/1m' }) });
  let idp: TestIdp;
  beforeAll(async () => {
    idp = await startTestIdp([callbackFor('idp')]);
    await upsertProvider(m.app, { name: 'idp', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret });
  });
  afterAll(() => idp?.close());

  it('no password at first (INVALID_CREDENTIALS); requestPasswordReset mails a link that sets one; the provider still signs in', async () => {
    const email = uniqueEmail('fed');
    idp.signInAs({ sub: randomUUID(), email, emailVerified: true });
    const landing = await runFlow(createBrowser(m.app), 'idp', 'https://app.test/signed-in');
    expect(landing.url.origin + landing.url.pathname).toBe('https://app.test/signed-in');
    const userId = expectOk(await finish(m.app, landing.code!)).finishOAuth.user.id;
    expectCode(await login(m.app, email, NEW_PASSWORD), 'INVALID_CREDENTIALS');
    expectOk(await m.app.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: email }));
    const token = await latestLinkTo(m, email, 'reset-password');
    expectOk(await m.app.gql(`mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`, { t: token, p: NEW_PASSWORD }));
    expect(expectOk(await login(m.app, email, NEW_PASSWORD)).login.user.id).toBe(userId);
    const again = await runFlow(createBrowser(m.app), 'idp', 'https://app.test/signed-in');
    expect(expectOk(await finish(m.app, again.code!)).finishOAuth.user.id).toBe(userId);
  });
});
