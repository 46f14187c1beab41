import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { expectCode, expectOk } from './support/actions.js';
import { createBrowser } from './support/oauth-browser.js';
import { finish, IDENTITIES, OAUTH_ENV, runFlow, UNLINK, useTestIdp } from './support/oauth.js';
import { MY_PASSKEYS, newAuthenticator, passkeyLogin, registerPasskey } from './support/passkeys.js';

const DELETE_PASSKEY = 'mutation($id: ID!) { deletePasskey(id: $id) }';

// Every first factor counts as a way in (users/sign-in-methods.ts): removing one of them never
// leaves an account that nobody can sign in to, whichever kind is the last.
describe.each(backends())('the last way to sign in, across providers and passkeys (%s)', (backend) => {
  const app = useTestApp(backend, { env: OAUTH_ENV });
  const idp = useTestIdp(app);

  it('a provider-made account (no password) with a passkey may unlink its identity, then may not delete its last passkey', async () => {
    const email = `methods-${randomUUID()}@example.com`;
    idp().signInAs({ sub: randomUUID(), email, emailVerified: true });
    const landing = await runFlow(createBrowser(app), 'idp');
    const auth = expectOk(await finish(app, landing.code!)).finishOAuth;
    const token = auth.accessToken as string;
    const identityId = expectOk(await app.gql(IDENTITIES, {}, { token })).me.identities[0].id as string;

    // Before any passkey the identity is the only way in.
    expectCode(await app.gql(UNLINK, { id: identityId }, { token }), 'BAD_USER_INPUT');

    const authenticator = newAuthenticator();
    const passkey = await registerPasskey(app, token, authenticator, 'Phone');
    expect(expectOk(await app.gql(UNLINK, { id: identityId }, { token })).unlinkIdentity).toBe(true);
    expect(expectOk(await app.gql(IDENTITIES, {}, { token })).me.identities).toEqual([]);

    // Now the passkey is the only way in: deleting it is refused and it keeps working.
    expectCode(await app.gql(DELETE_PASSKEY, { id: passkey.id }, { token }), 'BAD_USER_INPUT');
    expect(expectOk(await app.gql(MY_PASSKEYS, {}, { token })).me.passkeys.map((p: { id: string }) => p.id)).toEqual([passkey.id]);
    const again = expectOk(await passkeyLogin(app, authenticator, { email })).finishPasskeyLogin;
    expect(again.user.id).toBe(auth.user.id);
  });
});
