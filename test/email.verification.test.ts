import { describe, expect, it } from 'vitest';
import { backends, type Backend, useFixture } from './support/app.js';
import { auditRows, codeOf, expectCode, expectOk, login, me, PASSWORD, register, signIn, signUp, uniqueEmail } from './support/actions.js';
import { grantAdmin } from './support/audit.js';
import { latestLinkTo, MANY_PER_RECIPIENT, onlyLinkTo, race, rateLimits, startMessaging } from './support/messages.js';

const DAY = 24 * 3_600_000;
const NEW_PASSWORD = 'a freshly chosen passphrase 31';

async function setup(backend: Backend, env: Record<string, string> = {}) {
  const m = await startMessaging(backend, env);
  const { app } = m;
  return {
    ...m,
    requestVerification: (token?: string) => app.gql(`mutation { requestEmailVerification }`, {}, { token }),
    verifyEmail: (token: string) => app.gql(`mutation($t: String!) { verifyEmail(token: $t) }`, { t: token }),
    emailVerified: async (accessToken: string) => expectOk(await me(app, accessToken)).me.emailVerified as boolean,
  };
}

describe.each(backends())('email verification (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('sends one mail with a verify-email link; the link verifies the address; audited sent then verified', async () => {
    const user = await signUp(t.app);
    expect(await t.emailVerified(user.accessToken)).toBe(false);
    expect(expectOk(await t.requestVerification(user.accessToken)).requestEmailVerification).toBe(true);
    const token = await onlyLinkTo(t, user.email, 'verify-email');

    expect(expectOk(await t.verifyEmail(token)).verifyEmail).toBe(true);
    expect(await t.emailVerified(user.accessToken)).toBe(true);
    const rows = await auditRows(t.app, { userId: user.userId });
    expect(rows.map((r) => r.action).filter((a) => a.startsWith('email.'))).toEqual(['email.verification_sent', 'email.verified']);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('a token works once: the second use is INVALID_TOKEN', async () => {
    const user = await signUp(t.app);
    expectOk(await t.requestVerification(user.accessToken));
    const token = await onlyLinkTo(t, user.email, 'verify-email');
    expectOk(await t.verifyEmail(token));
    expectCode(await t.verifyEmail(token), 'INVALID_TOKEN');
    expect(await auditRows(t.app, { userId: user.userId, action: 'email.verified' })).toHaveLength(1);
  });

  it('a made-up token is INVALID_TOKEN', async () => {
    expectCode(await t.verifyEmail('A'.repeat(43)), 'INVALID_TOKEN');
    expectCode(await t.verifyEmail('not a token'), 'INVALID_TOKEN');
    expectCode(await t.verifyEmail(''), 'INVALID_TOKEN');
  });

  it('a token expires after 24 hours', async () => {
    const early = await signUp(t.app);
    const late = await signUp(t.app);
    expectOk(await t.requestVerification(early.accessToken));
    expectOk(await t.requestVerification(late.accessToken));
    const earlyToken = await onlyLinkTo(t, early.email, 'verify-email');
    const lateToken = await onlyLinkTo(t, late.email, 'verify-email');

    t.app.clock.advance(DAY - 1_000);
    expect(expectOk(await t.verifyEmail(earlyToken)).verifyEmail).toBe(true);
    t.app.clock.advance(2_000);
    expectCode(await t.verifyEmail(lateToken), 'INVALID_TOKEN');
    expect(await auditRows(t.app, { userId: late.userId, action: 'email.verified' })).toHaveLength(0);
  });

  it('answers UNAUTHENTICATED to requestEmailVerification without a token', async () => {
    expectCode(await t.requestVerification(), 'UNAUTHENTICATED');
  });

  it('twenty concurrent uses of one token: exactly one true, nineteen INVALID_TOKEN', async () => {
    const user = await signUp(t.app);
    expectOk(await t.requestVerification(user.accessToken));
    const token = await onlyLinkTo(t, user.email, 'verify-email');
    const { ok, codes } = await race(20, () => t.verifyEmail(token));
    expect(ok.map((r) => r.data?.verifyEmail)).toEqual([true]);
    expect(codes).toEqual(Array(19).fill('INVALID_TOKEN'));
    expect(await auditRows(t.app, { userId: user.userId, action: 'email.verified' })).toHaveLength(1);
  });

  it('a second request within 60 s is RATE_LIMITED with a retryAfter, and sends nothing more', async () => {
    const user = await signUp(t.app);
    expectOk(await t.requestVerification(user.accessToken));
    const limited = await t.requestVerification(user.accessToken);
    expectCode(limited, 'RATE_LIMITED');
    expect(limited.errors![0]!.extensions.retryAfter).toBeGreaterThan(0);
    expect(await t.mailsTo(user.email)).toHaveLength(1);
  });

  it("writes the mail in the user's language: German for 'de', English for 'en' and by default", async () => {
    const subjectFor = async (language?: string) => {
      const email = uniqueEmail(`lang-${language ?? 'none'}`);
      const auth = expectOk(await register(t.app, { email, ...(language ? { language } : {}) })).register.auth;
      expectOk(await t.requestVerification(auth.accessToken));
      const mails = await t.mailsTo(email);
      expect(mails).toHaveLength(1);
      return mails[0]!;
    };
    const de = await subjectFor('de');
    const en = await subjectFor('en');
    const none = await subjectFor();
    expect(de.subject).not.toBe(en.subject);
    expect(none.subject).toBe(en.subject);
    expect(en.subject).toMatch(/verif|confirm/i);
  });
});

describe.each(backends())('email verification, several requests (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend, { RATE_LIMITS: rateLimits(MANY_PER_RECIPIENT) }),
    (fixture) => fixture.close(),
  );

  it('a new request voids the older token: the old one is INVALID_TOKEN, the new one works', async () => {
    const user = await signUp(t.app);
    expectOk(await t.requestVerification(user.accessToken));
    const first = await onlyLinkTo(t, user.email, 'verify-email');
    expectOk(await t.requestVerification(user.accessToken));
    const second = await latestLinkTo(t, user.email, 'verify-email');
    expect(second).not.toBe(first);
    expect(await t.mailsTo(user.email)).toHaveLength(2);

    expectCode(await t.verifyEmail(first), 'INVALID_TOKEN');
    expect(await t.emailVerified(user.accessToken)).toBe(false);
    expect(expectOk(await t.verifyEmail(second)).verifyEmail).toBe(true);
    expect(await t.emailVerified(user.accessToken)).toBe(true);
  });

  it('an already verified address: requestEmailVerification is BAD_USER_INPUT and sends nothing', async () => {
    const user = await signUp(t.app);
    expectOk(await t.requestVerification(user.accessToken));
    expectOk(await t.verifyEmail(await onlyLinkTo(t, user.email, 'verify-email')));
    expectCode(await t.requestVerification(user.accessToken), 'BAD_USER_INPUT');
    expect(await t.mailsTo(user.email)).toHaveLength(1);
  });

  it('an admin changing the email voids a pending verification token', async () => {
    const admin = await signUp(t.app);
    await grantAdmin(t.app, admin.userId);
    const user = await signUp(t.app);
    expectOk(await t.requestVerification(user.accessToken));
    const token = await onlyLinkTo(t, user.email, 'verify-email');
    const moved = uniqueEmail('moved');
    const update = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { email emailVerified } }`;
    expect(expectOk(await t.app.gql(update, { id: user.userId, input: { email: moved } }, { token: admin.accessToken })).updateUser).toEqual({
      email: moved,
      emailVerified: false,
    });

    expectCode(await t.verifyEmail(token), 'INVALID_TOKEN');
    const session = await signIn(t.app, moved);
    expect(await t.emailVerified(session.accessToken)).toBe(false);
  });
});

describe.each(backends())('REQUIRE_EMAIL_VERIFICATION=true (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend, { REQUIRE_EMAIL_VERIFICATION: 'true' }),
    (fixture) => fixture.close(),
  );

  it('register returns no tokens and mails a verify-email link; login waits for the verification', async () => {
    const email = uniqueEmail('unverified');
    const registered = expectOk(await register(t.app, { email }));
    expect(registered.register.auth).toBeNull();
    expect(registered.register.user.email).toBe(email);
    await onlyLinkTo(t, email, 'verify-email');

    expectCode(await login(t.app, email, PASSWORD), 'EMAIL_NOT_VERIFIED');
    expectCode(await login(t.app, email, 'not the password at all'), 'INVALID_CREDENTIALS');
    expect(expectOk(await t.verifyEmail(await latestLinkTo(t, email, 'verify-email'))).verifyEmail).toBe(true);
    const session = await signIn(t.app, email);
    expect(session.userId).toBe(registered.register.user.id);
    expect(await t.emailVerified(session.accessToken)).toBe(true);
  });

  it('the link mailed at registration still works after a refused login within the minute', async () => {
    const email = uniqueEmail('unverified');
    expectOk(await register(t.app, { email }));
    const token = await onlyLinkTo(t, email, 'verify-email');
    expectCode(await login(t.app, email, PASSWORD), 'EMAIL_NOT_VERIFIED');
    // The refusal promises a new link only "if the last one is older than a minute".
    expect(await t.mailsTo(email)).toHaveLength(1);
    expect(expectOk(await t.verifyEmail(token)).verifyEmail).toBe(true);
    expectOk(await login(t.app, email, PASSWORD));
  });

  it('a wrong password for an unverified account is INVALID_CREDENTIALS, never EMAIL_NOT_VERIFIED', async () => {
    const email = uniqueEmail('unverified');
    expectOk(await register(t.app, { email }));
    const codes = [];
    for (const password of ['wrong password one', '', PASSWORD.toUpperCase()]) codes.push(codeOf(await login(t.app, email, password)));
    expect(codes).toEqual(['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS']);
  });
});

describe.each(backends())('register without a password (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('returns no tokens and mails one set-password link; setting the password signs in and verifies the address', async () => {
    const email = uniqueEmail('nopass');
    const registered = expectOk(await register(t.app, { email, password: undefined }));
    expect(registered.register.auth).toBeNull();
    const token = await onlyLinkTo(t, email, 'reset-password');
    expectCode(await login(t.app, email, PASSWORD), 'INVALID_CREDENTIALS');

    const reset = `mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`;
    expect(expectOk(await t.app.gql(reset, { t: token, p: NEW_PASSWORD })).resetPassword).toBe(true);
    const session = await signIn(t.app, email, NEW_PASSWORD);
    expect(session.userId).toBe(registered.register.user.id);
    expect(await t.emailVerified(session.accessToken)).toBe(true);
  });
});
