import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, signUp } from './support/actions.js';
import { startTestIdp, type TestIdp } from './support/oauth-idp.js';
import { adminToken, callbackFor, OAUTH_ENV, UPSERT } from './support/oauth.js';

const CONFIGS = `{ oauthProviderConfigs { name issuer clientId scopes enabled linkByEmail authorizationEndpoint } }`;
const DELETE = `mutation($n: String!) { deleteOAuthProvider(name: $n) }`;

describe.each(backends())('managing OAuth providers (%s)', (backend) => {
  const app = useTestApp(backend, { env: OAUTH_ENV });
  let idp: TestIdp;
  let admin: string;
  beforeAll(async () => {
    idp = await startTestIdp([callbackFor('corp')]);
    admin = await adminToken(app);
  });
  afterAll(() => idp?.close());

  it('upsert discovers the issuer, stores the endpoints and openid scope; the secret is never returned, logged or audited', async () => {
    const created = expectOk(
      await app.gql(UPSERT, { input: { name: 'corp', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret } }, { token: admin }),
    );
    expect(created.upsertOAuthProvider).toMatchObject({
      name: 'corp',
      displayName: 'corp',
      issuer: idp.issuer,
      scopes: ['openid', 'email', 'profile'],
      enabled: true,
      linkByEmail: false,
    });
    expect(created.upsertOAuthProvider.authorizationEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/auth$/);
    const updated = expectOk(
      await app.gql(UPSERT, { input: { name: 'corp', issuer: idp.issuer, clientId: idp.clientId, displayName: 'Corp SSO' } }, { token: admin }),
    );
    expect(updated.upsertOAuthProvider.displayName).toBe('Corp SSO');
    expect(expectOk(await app.gql('{ oauthProviders { name displayName } }')).oauthProviders).toEqual([{ name: 'corp', displayName: 'Corp SSO' }]);
    const rows = await auditRows(app, { action: 'oauth_provider.upserted' });
    expect(rows.map((r) => r.metadata?.created)).toEqual([true, false]);
    const everything = app.logs.join('\n') + JSON.stringify(rows) + JSON.stringify(expectOk(await app.gql(CONFIGS, {}, { token: admin })));
    expect(everything).not.toContain(idp.clientSecret);
    const { oauthProviders } = await import('../src/modules/oauth/tables.js');
    const [stored] = await app.deps.db.select().from(oauthProviders);
    expect(stored?.clientSecretEnc).toMatch(/^v1\./);
  });

  it('a failed discovery is BAD_USER_INPUT; http is refused except on loopback hosts; bad names are refused', async () => {
    const bad = (input: Record<string, unknown>) => app.gql(UPSERT, { input: { clientId: 'x', ...input } }, { token: admin });
    expectCode(await bad({ name: 'nowhere', issuer: 'http://127.0.0.1:1' }), 'BAD_USER_INPUT');
    expectCode(await bad({ name: 'plain', issuer: 'http://idp.example.com' }), 'BAD_USER_INPUT');
    expectCode(
      await bad({
        name: 'gh',
        authorizationEndpoint: 'http://github.example/a',
        tokenEndpoint: 'https://github.example/t',
        userinfoEndpoint: 'https://github.example/u',
      }),
      'BAD_USER_INPUT',
    );
    expectCode(await bad({ name: 'gh', authorizationEndpoint: 'https://github.example/a' }), 'BAD_USER_INPUT');
    for (const name of ['callback', 'Bad Name', '-x', 'a/b']) expectCode(await bad({ name, issuer: idp.issuer }), 'BAD_USER_INPUT');
    expect(expectOk(await app.gql(CONFIGS, {}, { token: admin })).oauthProviderConfigs.map((p: { name: string }) => p.name)).toEqual(['corp']);
  });

  it('needs providers:read / providers:write (FORBIDDEN for a plain user); delete is audited and NOT_FOUND the second time', async () => {
    const user = await signUp(app);
    expectCode(await app.gql(CONFIGS, {}, { token: user.accessToken }), 'FORBIDDEN');
    expectCode(await app.gql(UPSERT, { input: { name: 'mine', issuer: idp.issuer, clientId: 'x' } }, { token: user.accessToken }), 'FORBIDDEN');
    expectCode(await app.gql(DELETE, { n: 'corp' }, { token: user.accessToken }), 'FORBIDDEN');
    expect(expectOk(await app.gql(DELETE, { n: 'corp' }, { token: admin })).deleteOAuthProvider).toBe(true);
    expectCode(await app.gql(DELETE, { n: 'corp' }, { token: admin }), 'NOT_FOUND');
    expect((await auditRows(app, { action: 'oauth_provider.deleted' })).map((r) => r.metadata)).toEqual([{ name: 'corp' }]);
  });
});
