import { randomInt, randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectOk, PASSWORD, uniqueEmail } from './support/actions.js';
import { createBrowser } from './support/oauth-browser.js';
import { startGitHubStub, type GitHubAccount, type GitHubStub } from './support/oauth-github.js';
import { adminToken, githubProvider, IDENTITIES, OAUTH_ENV, runFlow, signInWith, upsertProvider } from './support/oauth.js';

const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id email } }`;

describe.each(backends())('sign-in with a GitHub-shaped OAuth 2.0 provider (%s)', (backend) => {
  const app = useTestApp(backend, { env: OAUTH_ENV });
  let gh: GitHubStub;
  const account = (emails: GitHubAccount['emails'], publicEmail: string | null = null): GitHubAccount => ({
    id: randomInt(1, 2 ** 31),
    login: `octo-${randomUUID().slice(0, 8)}`,
    name: 'Octo Cat',
    publicEmail,
    emails,
  });

  beforeAll(async () => {
    gh = await startGitHubStub();
    await upsertProvider(app, githubProvider(gh));
    await upsertProvider(app, githubProvider(gh, 'github-link', { linkByEmail: true }));
  });
  afterAll(() => gh?.close());

  it('signs up with the primary verified address of /user/emails (the profile has none); the subject is the numeric id', async () => {
    const primary = uniqueEmail('gh');
    const who = account([
      { email: uniqueEmail('gh-other'), primary: false, verified: false },
      { email: primary, primary: true, verified: true },
    ]);
    gh.signInAs(who);
    const auth = await signInWith(app, 'github');
    expect(auth.user.email).toBe(primary);
    expect(decodeJwt(auth.accessToken).amr).toEqual(['fed']);
    const { me } = expectOk(await app.gql(IDENTITIES, {}, { token: auth.accessToken }));
    expect(me).toMatchObject({ emailVerified: true, identities: [{ provider: 'github', subject: String(who.id), email: primary, emailVerified: true }] });
  });

  it('signs in again as the same account by its id', async () => {
    const who = account([{ email: uniqueEmail('gh'), primary: true, verified: true }]);
    gh.signInAs(who);
    const first = await signInWith(app, 'github');
    const again = await signInWith(app, 'github');
    expect(again.user.id).toBe(first.user.id);
  });

  it('no verified address at GitHub: the account is created unverified, and it never links by email', async () => {
    const email = uniqueEmail('gh-unverified');
    gh.signInAs(account([{ email, primary: true, verified: false }]));
    const auth = await signInWith(app, 'github');
    const { me } = expectOk(await app.gql(IDENTITIES, {}, { token: auth.accessToken }));
    expect(me).toMatchObject({ email, emailVerified: false });

    const local = expectOk(
      await app.gql(CREATE_USER, { input: { email: uniqueEmail('local'), password: PASSWORD, emailVerified: true } }, { token: await adminToken(app) }),
    ).createUser;
    // The public profile email claims the local address, but GitHub has not verified it.
    gh.signInAs(account([{ email: local.email, primary: true, verified: false }], local.email));
    expect(await runFlow(createBrowser(app), 'github-link')).toMatchObject({ error: 'IDENTITY_CONFLICT' });
    expect(await auditRows(app, { userId: local.id, action: 'oauth.linked' })).toEqual([]);
  });

  it('linkByEmail with a verified address on both sides links to the existing account', async () => {
    const local = expectOk(
      await app.gql(CREATE_USER, { input: { email: uniqueEmail('local'), password: PASSWORD, emailVerified: true } }, { token: await adminToken(app) }),
    ).createUser;
    gh.signInAs(account([{ email: local.email, primary: true, verified: true }]));
    expect((await signInWith(app, 'github-link')).user.id).toBe(local.id);
  });

  it('access denied at GitHub ends in ?error=UNAUTHENTICATED', async () => {
    gh.signInAs('deny');
    expect(await runFlow(createBrowser(app), 'github')).toMatchObject({ error: 'UNAUTHENTICATED', code: null });
  });
});
