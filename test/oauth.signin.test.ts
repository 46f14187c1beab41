import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, login, PASSWORD, uniqueEmail } from './support/actions.js';
import { createBrowser } from './support/oauth-browser.js';
import { enrollTotp, nextTotp, verify2fa } from './support/mfa.js';
import { startTestIdp, type TestIdp } from './support/oauth-idp.js';
import { adminToken, callbackFor, finish, IDENTITIES, OAUTH_ENV, runFlow, signInWith, upsertProvider } from './support/oauth.js';

const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id email emailVerified } }`;
const UPDATE_USER = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id disabled } }`;

describe.each(backends())('sign-in with an OIDC provider (%s)', (backend) => {
  const app = useTestApp(backend, { env: OAUTH_ENV });
  let idp: TestIdp;
  const account = (over: { email?: string; emailVerified?: boolean } = {}) => ({
    sub: randomUUID(),
    email: over.email ?? uniqueEmail('idp'),
    emailVerified: over.emailVerified ?? true,
    name: 'Ida Provider',
  });
  /** A local account made by the admin, with a password and the given verification state. */
  const localAccount = async (emailVerified: boolean) =>
    expectOk(await app.gql(CREATE_USER, { input: { email: uniqueEmail('local'), password: PASSWORD, emailVerified } }, { token: await adminToken(app) }))
      .createUser;

  beforeAll(async () => {
    idp = await startTestIdp([callbackFor('idp'), callbackFor('idp-link')]);
    const common = { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret };
    await upsertProvider(app, { name: 'idp', displayName: 'Test IdP', ...common });
    await upsertProvider(app, { name: 'idp-link', displayName: 'Test IdP (link by email)', linkByEmail: true, ...common });
  });
  afterAll(() => idp?.close());

  it('a new subject with a new email creates an account: email verified as the provider says, amr fed, audited', async () => {
    const who = account();
    idp.signInAs(who);
    const auth = await signInWith(app, 'idp');
    expect(auth).toMatchObject({ mfaRequired: false, user: { email: who.email, roles: ['user'] } });
    expect(decodeJwt(auth.accessToken).amr).toEqual(['fed']);
    const { me } = expectOk(await app.gql(IDENTITIES, {}, { token: auth.accessToken }));
    expect(me).toMatchObject({ emailVerified: true, identities: [{ provider: 'idp', subject: who.sub, email: who.email, emailVerified: true }] });
    const actions = (await auditRows(app, { userId: auth.user.id })).map((r) => [r.action, r.metadata]);
    expect(actions).toEqual([
      ['user.registered', { method: 'oauth', provider: 'idp' }],
      ['oauth.linked', expect.objectContaining({ provider: 'idp', by: 'new_account' })],
      ['oauth.login', expect.objectContaining({ provider: 'idp' })],
      ['user.login', expect.objectContaining({ method: 'oauth' })],
    ]);
  });

  it('an account created by a provider has no password: password login answers INVALID_CREDENTIALS as for a wrong one', async () => {
    const who = account();
    idp.signInAs(who);
    const auth = await signInWith(app, 'idp');
    expectCode(await login(app, who.email, PASSWORD), 'INVALID_CREDENTIALS');
    const { users } = await import('../src/modules/users/tables.js');
    const { eq } = await import('drizzle-orm');
    const [row] = await app.deps.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, auth.user.id));
    expect(row?.hash).toBeNull();
  });

  it('a returning subject signs into the same account, by subject and never by email (the provider email may change)', async () => {
    const who = account();
    idp.signInAs(who);
    const first = await signInWith(app, 'idp');
    // Another browser, and the provider now reports another address: still the same account.
    idp.signInAs({ ...who, email: uniqueEmail('changed') });
    const again = await signInWith(app, 'idp');
    expect(again.user.id).toBe(first.user.id);
    expect(again.user.email).toBe(who.email);
    const { me } = expectOk(await app.gql(IDENTITIES, {}, { token: again.accessToken }));
    expect(me.identities).toHaveLength(1);
    expect(me.identities[0].lastUsedAt).not.toBeNull();
  });

  it('auto-link: linkByEmail, the provider and the account both verified: the identity joins the existing account', async () => {
    const local = await localAccount(true);
    const who = account({ email: local.email });
    idp.signInAs(who);
    const auth = await signInWith(app, 'idp-link');
    expect(auth.user.id).toBe(local.id);
    const linked = await auditRows(app, { userId: local.id, action: 'oauth.linked' });
    expect(linked.map((r) => r.metadata)).toEqual([expect.objectContaining({ provider: 'idp-link', by: 'email' })]);
  });

  it('regression: no takeover of an unverified local account: IDENTITY_CONFLICT, nothing linked, audited with the reason', async () => {
    const local = await localAccount(false);
    idp.signInAs(account({ email: local.email }));
    const landing = await runFlow(createBrowser(app), 'idp-link');
    expect(landing).toMatchObject({ error: 'IDENTITY_CONFLICT', code: null });
    expect(await auditRows(app, { userId: local.id, action: 'oauth.linked' })).toEqual([]);
    const failed = (await auditRows(app, { action: 'oauth.login_failed' })).at(-1);
    expect(failed?.metadata).toMatchObject({ provider: 'idp-link', reason: 'identity_conflict' });
  });

  it('regression: no takeover when the provider has not verified the email, even with linkByEmail on a verified account', async () => {
    const local = await localAccount(true);
    idp.signInAs(account({ email: local.email, emailVerified: false }));
    expect(await runFlow(createBrowser(app), 'idp-link')).toMatchObject({ error: 'IDENTITY_CONFLICT' });
    expect(await auditRows(app, { userId: local.id, action: 'oauth.linked' })).toEqual([]);
  });

  it('without linkByEmail a verified email of an existing account is IDENTITY_CONFLICT too', async () => {
    const local = await localAccount(true);
    idp.signInAs(account({ email: local.email }));
    expect(await runFlow(createBrowser(app), 'idp')).toMatchObject({ error: 'IDENTITY_CONFLICT' });
  });

  it('an account with MFA gets the pending token after the provider; verify2fa completes it with amr fed and mfa', async () => {
    const who = account();
    idp.signInAs(who);
    const first = await signInWith(app, 'idp');
    const { secret } = await enrollTotp(app, first.accessToken);
    const pending = await signInWith(app, 'idp');
    expect(pending).toMatchObject({ mfaRequired: true, refreshToken: null, mfaMethods: expect.arrayContaining(['TOTP']) });
    expectCode(await app.gql(IDENTITIES, {}, { token: pending.accessToken }), 'MFA_REQUIRED');
    const full = expectOk(await verify2fa(app, pending.accessToken, 'TOTP', nextTotp(app, secret))).verify2fa;
    expect(decodeJwt(full.accessToken).amr).toEqual(expect.arrayContaining(['fed', 'mfa']));
  });

  it('a disabled account gets ACCOUNT_DISABLED after the provider step, on the redirect and from a code issued before', async () => {
    const who = account();
    idp.signInAs(who);
    const auth = await signInWith(app, 'idp');
    const early = await runFlow(createBrowser(app), 'idp');
    expectOk(await app.gql(UPDATE_USER, { id: auth.user.id, input: { disabled: true } }, { token: await adminToken(app) }));
    expectCode(await finish(app, early.code!), 'ACCOUNT_DISABLED');
    expect(await runFlow(createBrowser(app), 'idp')).toMatchObject({ error: 'ACCOUNT_DISABLED', code: null });
    const reasons = (await auditRows(app, { userId: auth.user.id, action: 'oauth.login_failed' })).map((r) => r.metadata?.reason);
    expect(reasons).toEqual(['disabled', 'disabled']);
  });

  it('finishOAuth with setCookie sets the session cookies; the code works once and expires after 60 seconds', async () => {
    idp.signInAs(account());
    const landing = await runFlow(createBrowser(app), 'idp');
    const done = await finish(app, landing.code!, true);
    expect(done.headers.getSetCookie().join('\n')).toMatch(/access_token=.*HttpOnly/);
    expectCode(await finish(app, landing.code!), 'INVALID_TOKEN');
    const late = await runFlow(createBrowser(app), 'idp');
    app.clock.advance(61_000);
    expectCode(await finish(app, late.code!), 'INVALID_TOKEN');
  });
});
