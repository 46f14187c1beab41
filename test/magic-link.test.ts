import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type Backend, useFixture } from './support/app.js';
import { AUTH_FIELDS, auditRows, codeOf, expectCode, expectOk, me, refresh, register, signUp, uniqueEmail } from './support/actions.js';
import { grantAdmin } from './support/audit.js';
import { latestLinkTo, MANY_PER_RECIPIENT, onlyLinkTo, race, rateLimits, startMessaging } from './support/messages.js';

const FIFTEEN_MINUTES = 15 * 60_000;

async function setup(backend: Backend, env: Record<string, string> = {}) {
  const m = await startMessaging(backend, env);
  const { app } = m;
  const requestLink = (email: string) => app.gql(`mutation($e: String!) { requestMagicLink(email: $e) }`, { e: email });
  return {
    ...m,
    requestLink,
    loginWithLink: (token: string) => app.gql(`mutation($t: String!) { loginWithMagicLink(token: $t) { ${AUTH_FIELDS} } }`, { t: token }),
    /** Requests a link for the address and returns the token of the one mail it sent. */
    async linkToken(email: string) {
      expect(expectOk(await requestLink(email)).requestMagicLink).toBe(true);
      return onlyLinkTo(m, email, 'magic-link');
    },
    sessionsOf: (userId: string) => app.deps.store.sessions.listByUser(userId, app.clock.now()),
  };
}

describe.each(backends())('magic link (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('mails a magic-link link that signs in: working tokens, no MFA; audited as requested and a magic_link login', async () => {
    const user = await signUp(t.app);
    const token = await t.linkToken(user.email);
    const auth = expectOk(await t.loginWithLink(token)).loginWithMagicLink;
    expect(auth).toMatchObject({ mfaRequired: false, user: { id: user.userId, email: user.email } });
    expect(auth.refreshToken).toEqual(expect.any(String));
    expect(expectOk(await me(t.app, auth.accessToken)).me.id).toBe(user.userId);
    const refreshed = expectOk(await refresh(t.app, auth.refreshToken)).refreshToken;
    expectOk(await me(t.app, refreshed.accessToken));

    const rows = await auditRows(t.app, { userId: user.userId });
    expect(rows.filter((r) => r.action === 'magic_link.requested')).toHaveLength(1);
    const logins = rows.filter((r) => r.action === 'user.login' && (r.metadata as Record<string, unknown> | null)?.method === 'magic_link');
    expect(logins).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('a link works once: the second use is INVALID_TOKEN', async () => {
    const user = await signUp(t.app);
    const token = await t.linkToken(user.email);
    expectOk(await t.loginWithLink(token));
    const again = await t.loginWithLink(token);
    expectCode(again, 'INVALID_TOKEN');
    expect(again.data).toBeNull();
  });

  it('a link expires after 15 minutes', async () => {
    const early = await signUp(t.app);
    const late = await signUp(t.app);
    const earlyToken = await t.linkToken(early.email);
    const lateToken = await t.linkToken(late.email);
    t.app.clock.advance(FIFTEEN_MINUTES - 1_000);
    expect(expectOk(await t.loginWithLink(earlyToken)).loginWithMagicLink.user.id).toBe(early.userId);
    t.app.clock.advance(2_000);
    expectCode(await t.loginWithLink(lateToken), 'INVALID_TOKEN');
  });

  it('a made-up token is INVALID_TOKEN', async () => {
    expectCode(await t.loginWithLink('A'.repeat(43)), 'INVALID_TOKEN');
    expectCode(await t.loginWithLink('not a token'), 'INVALID_TOKEN');
  });

  it('answers an unknown email exactly as a known one, and sends it nothing', async () => {
    const known = await signUp(t.app);
    const unknown = uniqueEmail('nobody');
    const forKnown = await t.requestLink(known.email);
    const forUnknown = await t.requestLink(unknown);
    expect(forUnknown.errors).toBeUndefined();
    expect({ data: forUnknown.data, errors: forUnknown.errors }).toEqual({ data: forKnown.data, errors: forKnown.errors });
    expect(forUnknown.data).toEqual({ requestMagicLink: true });
    expect(await t.mailsTo(unknown)).toEqual([]);
    expect(await t.mailsTo(known.email)).toHaveLength(1);
  });

  it('twenty concurrent uses of one link: exactly one session', async () => {
    const user = await signUp(t.app);
    const token = await t.linkToken(user.email);
    expect(await t.sessionsOf(user.userId)).toHaveLength(1);
    const { ok, codes } = await race(20, () => t.loginWithLink(token));
    expect(ok).toHaveLength(1);
    expect(ok[0]!.data!.loginWithMagicLink.user.id).toBe(user.userId);
    expect(codes).toEqual(Array(19).fill('INVALID_TOKEN'));
    expect(await t.sessionsOf(user.userId)).toHaveLength(2);
  });

  it('a link issued before the account was disabled signs nobody in', async () => {
    const admin = await signUp(t.app);
    await grantAdmin(t.app, admin.userId);
    const user = await signUp(t.app);
    const token = await t.linkToken(user.email);
    const disable = `mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { disabled } }`;
    expectOk(await t.app.gql(disable, { id: user.userId }, { token: admin.accessToken }));

    const refused = await t.loginWithLink(token);
    expect(['ACCOUNT_DISABLED', 'INVALID_TOKEN']).toContain(codeOf(refused));
    expect(refused.errors).toHaveLength(1);
    expect(refused.data).toBeNull();
    expect(await t.sessionsOf(user.userId)).toEqual([]);
  });

  it('signing in by link marks the email verified', async () => {
    const user = await signUp(t.app);
    expect(expectOk(await me(t.app, user.accessToken)).me.emailVerified).toBe(false);
    const auth = expectOk(await t.loginWithLink(await t.linkToken(user.email))).loginWithMagicLink;
    expect(expectOk(await me(t.app, auth.accessToken)).me.emailVerified).toBe(true);
    expect(expectOk(await me(t.app, user.accessToken)).me.emailVerified).toBe(true);
  });
});

describe.each(backends())('magic link with REQUIRE_EMAIL_VERIFICATION=true (%s)', (backend) => {
  let t: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    // register's own verification mail goes to the same recipient first.
    t = await setup(backend, { REQUIRE_EMAIL_VERIFICATION: 'true', RATE_LIMITS: rateLimits(MANY_PER_RECIPIENT) });
  });
  afterAll(() => t?.close());

  it('a user who never verified signs in by link, and is verified from then on', async () => {
    const email = uniqueEmail('unverified');
    const registered = expectOk(await register(t.app, { email }));
    expect(registered.register.auth).toBeNull();
    expect(expectOk(await t.requestLink(email)).requestMagicLink).toBe(true);
    const token = await latestLinkTo(t, email, 'magic-link');
    const auth = expectOk(await t.loginWithLink(token)).loginWithMagicLink;
    expect(auth.user.id).toBe(registered.register.user.id);
    expect(expectOk(await me(t.app, auth.accessToken)).me.emailVerified).toBe(true);
  });
});
