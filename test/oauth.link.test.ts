import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, signUp, uniqueEmail } from './support/actions.js';
import { createBrowser, type Browser } from './support/oauth-browser.js';
import { startGitHubStub, type GitHubStub } from './support/oauth-github.js';
import { startTestIdp, type TestIdp } from './support/oauth-idp.js';
import { adminToken, callbackFor, githubProvider, IDENTITIES, landingOf, OAUTH_ENV, signInWith, START_LINK, UNLINK, upsertProvider } from './support/oauth.js';

describe.each(backends())('linking and unlinking identities (%s)', (backend) => {
  const app = useTestApp(backend, { env: OAUTH_ENV });
  let idp: TestIdp;
  let gh: GitHubStub;
  const idpAccount = () => ({ sub: randomUUID(), email: uniqueEmail('idp'), emailVerified: true });
  const ghAccount = () => ({ id: randomInt(1, 2 ** 31), login: 'octo', emails: [{ email: uniqueEmail('gh'), primary: true, verified: true }] });

  /** The signed-in caller's browser starts a link (its binding cookie lands in the jar) and follows it. */
  async function link(browser: Browser, token: string, provider: string) {
    const started = await browser.gql(START_LINK, { p: provider, r: 'http://gateway.test/settings' }, token);
    if (started.errors) return { startError: started.errors[0]?.extensions.code as string };
    return landingOf(await browser.follow(started.data.startOAuthLink.url));
  }
  const identities = async (token: string) =>
    expectOk(await app.gql(IDENTITIES, {}, { token })).me.identities as Array<{ id: string; provider: string; subject: string }>;

  beforeAll(async () => {
    idp = await startTestIdp([callbackFor('idp')]);
    gh = await startGitHubStub();
    await upsertProvider(app, { name: 'idp', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret });
    await upsertProvider(app, githubProvider(gh));
  });
  afterAll(async () => {
    await idp?.close();
    await gh?.close();
  });

  it('a password user links the OIDC and the GitHub identity, then signs in with either; audited as oauth.linked', async () => {
    const user = await signUp(app);
    const browser = createBrowser(app);
    const who = idpAccount();
    idp.signInAs(who);
    expect(await link(browser, user.accessToken, 'idp')).toMatchObject({ linked: 'idp', error: null, code: null });
    const octo = ghAccount();
    gh.signInAs(octo);
    expect(await link(browser, user.accessToken, 'github')).toMatchObject({ linked: 'github' });
    expect((await identities(user.accessToken)).map((i) => [i.provider, i.subject]).sort()).toEqual([
      ['github', String(octo.id)],
      ['idp', who.sub],
    ]);
    expect((await signInWith(app, 'idp')).user.id).toBe(user.userId);
    expect((await signInWith(app, 'github')).user.id).toBe(user.userId);
    const linked = await auditRows(app, { userId: user.userId, action: 'oauth.linked' });
    expect(linked.map((r) => r.metadata)).toEqual([
      expect.objectContaining({ provider: 'idp', by: 'link' }),
      expect.objectContaining({ provider: 'github', by: 'link' }),
    ]);
  });

  it('startOAuthLink needs a sign-in within 5 minutes (REAUTH_REQUIRED), and a signed-in caller', async () => {
    const user = await signUp(app);
    expectCode(await app.gql(START_LINK, { p: 'idp' }), 'UNAUTHENTICATED');
    app.clock.advance(5 * 60_000 + 1);
    expect(await link(createBrowser(app), user.accessToken, 'idp')).toEqual({ startError: 'REAUTH_REQUIRED' });
  });

  it('a subject already linked to another account is refused: IDENTITY_CONFLICT, nothing moves', async () => {
    const owner = await signUp(app);
    const who = idpAccount();
    idp.signInAs(who);
    expect(await link(createBrowser(app), owner.accessToken, 'idp')).toMatchObject({ linked: 'idp' });
    const other = await signUp(app);
    expect(await link(createBrowser(app), other.accessToken, 'idp')).toMatchObject({ error: 'IDENTITY_CONFLICT', linked: null });
    expect(await identities(other.accessToken)).toEqual([]);
    expect((await signInWith(app, 'idp')).user.id).toBe(owner.userId);
  });

  it('unlinkIdentity removes one identity (audited); it no longer signs in; another user cannot remove it (NOT_FOUND)', async () => {
    const user = await signUp(app);
    idp.signInAs(idpAccount());
    await link(createBrowser(app), user.accessToken, 'idp');
    const [identity] = await identities(user.accessToken);
    const stranger = await signUp(app);
    expectCode(await app.gql(UNLINK, { id: identity!.id }, { token: stranger.accessToken }), 'NOT_FOUND');
    expect(expectOk(await app.gql(UNLINK, { id: identity!.id }, { token: user.accessToken })).unlinkIdentity).toBe(true);
    expect(await identities(user.accessToken)).toEqual([]);
    expect((await auditRows(app, { userId: user.userId, action: 'oauth.unlinked' })).map((r) => r.metadata)).toEqual([
      expect.objectContaining({ provider: 'idp', identityId: identity!.id }),
    ]);
    // The subject is unknown again: signing in with it makes a new account (its email is a new one), not this one.
    expect((await signInWith(app, 'idp')).user.id).not.toBe(user.userId);
  });

  it('regression: unlinkIdentity keeps the last way to sign in: an account without a password keeps its only identity (BAD_USER_INPUT)', async () => {
    gh.signInAs(ghAccount());
    const auth = await signInWith(app, 'github');
    const [only] = await identities(auth.accessToken);
    expectCode(await app.gql(UNLINK, { id: only!.id }, { token: auth.accessToken }), 'BAD_USER_INPUT');
    idp.signInAs(idpAccount());
    expect(await link(createBrowser(app), auth.accessToken, 'idp')).toMatchObject({ linked: 'idp' });
    expect(expectOk(await app.gql(UNLINK, { id: only!.id }, { token: auth.accessToken })).unlinkIdentity).toBe(true);
    const [last] = await identities(auth.accessToken);
    expectCode(await app.gql(UNLINK, { id: last!.id }, { token: auth.accessToken }), 'BAD_USER_INPUT');
    expect(await identities(auth.accessToken)).toHaveLength(1);
  });

  it("User.identities: an admin (users:read) reads anyone's; the field is the caller's own otherwise", async () => {
    gh.signInAs(ghAccount());
    const auth = await signInWith(app, 'github');
    const { user } = expectOk(
      await app.gql(`query($id: ID!) { user(id: $id) { identities { provider } } }`, { id: auth.user.id }, { token: await adminToken(app) }),
    );
    expect(user.identities).toEqual([{ provider: 'github' }]);
  });
});
