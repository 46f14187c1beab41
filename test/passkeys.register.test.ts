import { describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, signIn, signUp } from './support/actions.js';
import { grantAdmin } from './support/audit.js';
import {
  finishRegistration,
  MY_PASSKEYS,
  newAuthenticator,
  ORIGIN,
  PASSKEY_FIELDS,
  passkeyLogin,
  registerPasskey,
  startRegistration,
} from './support/passkeys.js';

const DELETE = 'mutation($id: ID!) { deletePasskey(id: $id) }';
const FIVE_MINUTES = 5 * 60_000;

describe.each(backends())('passkeys: registration (%s)', (backend) => {
  const app = useTestApp(backend);

  it('registers two passkeys for one user: listed on User.passkeys, PASSKEY enabled, audited without key material', async () => {
    const user = await signUp(app);
    const first = await registerPasskey(app, user.accessToken, newAuthenticator(), 'Laptop');
    app.clock.advance(1000);
    const second = await registerPasskey(app, user.accessToken, newAuthenticator());
    expect(first).toMatchObject({ name: 'Laptop', lastUsedAt: null, backedUp: expect.any(Boolean) });
    expect(second.name).toBeNull();
    const mine = expectOk(await app.gql(MY_PASSKEYS, {}, { token: user.accessToken })).me;
    expect(mine.passkeys.map((p: { id: string }) => p.id)).toEqual([first.id, second.id]);
    expect(mine.mfaMethods).toEqual(['PASSKEY', 'RECOVERY_CODE']);

    const rows = await auditRows(app, { userId: user.userId });
    const registered = rows.filter((r) => r.action === 'passkey.registered');
    expect(registered.map((r) => (r.metadata as { keyId: string }).keyId)).toEqual([first.id, second.id]);
    // The first passkey turns MFA on for password sign-in; the second changes nothing there.
    expect(rows.filter((r) => r.action === 'mfa.enabled').map((r) => r.metadata)).toEqual([{ method: 'PASSKEY', first: true }]);
    expect(JSON.stringify(registered)).not.toMatch(/publicKey|credentialId/);
  });

  it('the options: attestation none, resident key and user verification preferred, 5 minutes, the caller excluded by their passkeys', async () => {
    const user = await signUp(app);
    const none = await startRegistration(app, user.accessToken);
    expect(none).toMatchObject({
      rp: { id: 'gateway.test' },
      user: { name: user.email },
      attestation: 'none',
      timeout: FIVE_MINUTES,
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      excludeCredentials: [],
    });
    const authenticator = newAuthenticator();
    await registerPasskey(app, user.accessToken, authenticator);
    const options = await startRegistration(app, user.accessToken);
    const [credential] = authenticator.repository.loadCredentials();
    expect(options.excludeCredentials?.map((c) => c.id)).toEqual([
      Buffer.from(credential!.publicKeyCredentialDescriptor.id as ArrayBuffer).toString('base64url'),
    ]);
    // The authenticator that holds it refuses to make a second one for the account.
    expect(() => authenticator.emulator.createJSON(ORIGIN, options)).toThrow();
  });

  it('a challenge works once: the replayed response is INVALID_TOKEN and stores nothing', async () => {
    const user = await signUp(app);
    const response = newAuthenticator().emulator.createJSON(ORIGIN, await startRegistration(app, user.accessToken));
    expectOk(await finishRegistration(app, user.accessToken, response));
    expectCode(await finishRegistration(app, user.accessToken, response), 'INVALID_TOKEN');
    expect(expectOk(await app.gql(MY_PASSKEYS, {}, { token: user.accessToken })).me.passkeys).toHaveLength(1);
  });

  it('a challenge expires after 5 minutes: INVALID_TOKEN', async () => {
    const user = await signUp(app);
    const late = newAuthenticator().emulator.createJSON(ORIGIN, await startRegistration(app, user.accessToken));
    app.clock.advance(FIVE_MINUTES - 1000);
    const user2 = await signUp(app);
    const inTime = newAuthenticator().emulator.createJSON(ORIGIN, await startRegistration(app, user2.accessToken));
    app.clock.advance(2000);
    expectCode(await finishRegistration(app, user.accessToken, late), 'INVALID_TOKEN');
    expectOk(await finishRegistration(app, user2.accessToken, inTime));
  });

  it("a challenge is bound to the caller's session: another session of the same user, or another user, gets INVALID_CODE", async () => {
    const user = await signUp(app);
    const other = await signUp(app);
    const secondSession = await signIn(app, user.email);
    for (const caller of [secondSession, other]) {
      const response = newAuthenticator().emulator.createJSON(ORIGIN, await startRegistration(app, user.accessToken));
      expectCode(await finishRegistration(app, caller.accessToken, response), 'INVALID_CODE');
    }
    expect(expectOk(await app.gql(MY_PASSKEYS, {}, { token: user.accessToken })).me.passkeys).toEqual([]);
    expect(expectOk(await app.gql(MY_PASSKEYS, {}, { token: other.accessToken })).me.passkeys).toEqual([]);
  });

  it('a response from another origin, or for another RP ID, is INVALID_CODE', async () => {
    const user = await signUp(app);
    const evil = newAuthenticator().emulator.createJSON('http://evil.gateway.test', await startRegistration(app, user.accessToken));
    expectCode(await finishRegistration(app, user.accessToken, evil), 'INVALID_CODE');
    const options = await startRegistration(app, user.accessToken);
    // The right origin, but a credential scoped to another relying party.
    const otherRp = newAuthenticator().emulator.createJSON(ORIGIN, { ...options, rp: { ...options.rp, id: 'other.test' } }, [ORIGIN]);
    expectCode(await finishRegistration(app, user.accessToken, otherRp), 'INVALID_CODE');
    expect(expectOk(await app.gql(MY_PASSKEYS, {}, { token: user.accessToken })).me.passkeys).toEqual([]);
  });

  it('needs a full, recent sign-in: none is UNAUTHENTICATED, an old one REAUTH_REQUIRED', async () => {
    expectCode(await app.gql('mutation { startPasskeyRegistration }'), 'UNAUTHENTICATED');
    const user = await signUp(app);
    app.clock.advance(FIVE_MINUTES + 1);
    expectCode(await app.gql('mutation { startPasskeyRegistration }', {}, { token: user.accessToken }), 'REAUTH_REQUIRED');
  });

  it('deletePasskey removes one passkey: it no longer signs in, the other does; the last one takes PASSKEY out of mfaMethods', async () => {
    const user = await signUp(app);
    const [a, b] = [newAuthenticator(), newAuthenticator()];
    const first = await registerPasskey(app, user.accessToken, a);
    app.clock.advance(1000);
    const second = await registerPasskey(app, user.accessToken, b);
    expect(expectOk(await app.gql(DELETE, { id: first.id }, { token: user.accessToken })).deletePasskey).toBe(true);
    expectCode(await passkeyLogin(app, a), 'INVALID_CODE');
    expectOk(await passkeyLogin(app, b));
    expect(expectOk(await app.gql(MY_PASSKEYS, {}, { token: user.accessToken })).me).toMatchObject({
      passkeys: [{ id: second.id }],
      mfaMethods: ['PASSKEY', 'RECOVERY_CODE'],
    });
    expectOk(await app.gql(DELETE, { id: second.id }, { token: user.accessToken }));
    expect(expectOk(await app.gql(MY_PASSKEYS, {}, { token: user.accessToken })).me).toMatchObject({ passkeys: [], mfaMethods: [] });
    const rows = await auditRows(app, { userId: user.userId });
    expect(rows.filter((r) => r.action === 'passkey.deleted').map((r) => (r.metadata as { keyId: string }).keyId)).toEqual([first.id, second.id]);
    expect(rows.filter((r) => r.action === 'mfa.disabled').map((r) => r.metadata)).toEqual([{ method: 'PASSKEY', mfaOff: true }]);
  });

  it("deletePasskey of another user's passkey is NOT_FOUND and deletes nothing", async () => {
    const owner = await signUp(app);
    const other = await signUp(app);
    const passkey = await registerPasskey(app, owner.accessToken, newAuthenticator());
    expectCode(await app.gql(DELETE, { id: passkey.id }, { token: other.accessToken }), 'NOT_FOUND');
    expectCode(await app.gql(DELETE, { id: 'not-a-uuid' }, { token: other.accessToken }), 'NOT_FOUND');
    expect(expectOk(await app.gql(MY_PASSKEYS, {}, { token: owner.accessToken })).me.passkeys).toHaveLength(1);
  });

  it("User.passkeys: the caller's own, another user's only with users:read", async () => {
    const owner = await signUp(app);
    const other = await signUp(app);
    await registerPasskey(app, owner.accessToken, newAuthenticator());
    const query = `query($id: ID!) { user(id: $id) { id passkeys { ${PASSKEY_FIELDS} } } }`;
    expectCode(await app.gql(query, { id: owner.userId }, { token: other.accessToken }), 'FORBIDDEN');
    await grantAdmin(app, other.userId);
    expect(expectOk(await app.gql(query, { id: owner.userId }, { token: other.accessToken })).user.passkeys).toHaveLength(1);
  });
});
