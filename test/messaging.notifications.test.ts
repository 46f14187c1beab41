import { describe, expect, it } from 'vitest';
import { backends } from './support/app.js';
import { expectOk, PASSWORD, register, signUp, uniqueEmail, type Tokens } from './support/actions.js';
import { grantAdmin } from './support/audit.js';
import { latestLinkTo, onlyLinkTo, useMessaging } from './support/messages.js';
import { loginPending, nextTotp, REGENERATE, REMOVE, signUpWithTotp, verify2fa } from './support/mfa.js';
import type { CapturedMail } from './support/sinks.js';

/** The English subject of each security notice. */
const NOTICES = {
  password_changed: /password was changed/,
  password_reset: /password was reset/,
  mfa_enabled: /sign-in method was added/,
  mfa_disabled: /sign-in method was removed/,
  mfa_reset: /Two-step verification was turned off/,
  recovery_code_used: /recovery code was used/,
  recovery_codes_regenerated: /New recovery codes were made/,
  email_changed_old: /email address of your .+ account was changed/,
  email_changed_new: /This is now the email address/,
} as const;
type Notice = keyof typeof NOTICES;

const NEW_PASSWORD = 'a brand new passphrase 2024';
const AGENT = 'NoticeTest/1.0 (security notifications)';

/** The notices among the mails, by kind, in the order they arrived. */
function noticesIn(mails: CapturedMail[]): Notice[] {
  return mails.flatMap((mail) => (Object.keys(NOTICES) as Notice[]).filter((kind) => NOTICES[kind].test(mail.subject)));
}

/** No notice carries a secret: no password, code, token or link with one. */
function expectNoSecret(mails: CapturedMail[], secrets: string[]) {
  for (const mail of mails.filter((x) => noticesIn([x]).length)) {
    const body = `${mail.subject}\n${mail.text}\n${mail.html}`;
    for (const secret of [PASSWORD, NEW_PASSWORD, ...secrets]) expect(body).not.toContain(secret);
    expect(body).not.toContain('token=');
    expect(mail.text).not.toMatch(/\b\d{6}\b/);
  }
}

/**
 * Security notifications (ASVS 5.0 V6.3.7, NIST SP 800-63B-4 §4.6): each event mails exactly one
 * notice of its kind to the right address, after the change, without any secret, and outside
 * the recipient's send limits (left at their defaults here: 1 a minute, 5 an hour).
 */
describe.each(backends())('security notifications (%s)', (backend) => {
  const m = useMessaging(backend);

  const gql = (query: string, variables: Record<string, unknown>, token: string) => m.app.gql(query, variables, { token, headers: { 'user-agent': AGENT } });
  const changePassword = (token: string) =>
    gql(`mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`, { c: PASSWORD, n: NEW_PASSWORD }, token);
  const requestReset = (email: string) => m.app.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: email });

  async function admin(): Promise<Tokens> {
    const tokens = await signUp(m.app);
    await grantAdmin(m.app, tokens.userId);
    return tokens;
  }

  it('regression: changePassword mails one password_changed notice saying when and from which browser, and it leaves the send limits alone', async () => {
    const user = await signUp(m.app);
    expectOk(await changePassword(user.accessToken));
    const mails = await m.mailsTo(user.email);
    expect(noticesIn(mails)).toEqual(['password_changed']);
    expect(mails[0]!.text).toContain(AGENT);
    expect(mails[0]!.text).toMatch(/When: \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(mails[0]!.text).toMatch(/reset your password/i);
    expect(mails[0]!.from).toContain('no-reply@gateway.test');
    expectNoSecret(mails, []);
    // The notice did not spend the minute's budget: a reset link still goes out at once.
    expectOk(await requestReset(user.email));
    await latestLinkTo(m, user.email, 'reset-password');
  });

  it('regression: a reset mails one password_reset notice, even when the recipient budget is spent', async () => {
    const user = await signUp(m.app);
    expectOk(await requestReset(user.email));
    const token = await onlyLinkTo(m, user.email, 'reset-password');
    expectOk(await m.app.gql(`mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`, { t: token, p: NEW_PASSWORD }));
    const mails = await m.mailsTo(user.email);
    expect(noticesIn(mails)).toEqual(['password_reset']);
    expectNoSecret(mails, [token]);
  });

  it('regression: enabling TOTP, using a recovery code, regenerating codes and removing TOTP each mail one notice', async () => {
    const user = await signUpWithTotp(m.app);
    const pending = await loginPending(m.app, user.email);
    const signedIn = expectOk(await verify2fa(m.app, pending.accessToken, 'RECOVERY_CODE', user.recoveryCodes[0]!)).verify2fa;
    const codes = expectOk(await gql(REGENERATE, { p: PASSWORD, c: nextTotp(m.app, user.secret) }, signedIn.accessToken)).regenerateRecoveryCodes as string[];
    expectOk(await gql(REMOVE, { m: 'TOTP', p: PASSWORD, c: nextTotp(m.app, user.secret) }, signedIn.accessToken));
    const mails = await m.mailsTo(user.email);
    // One of each, in any order: the queue sends the messages it claims at once (messaging/delivery.ts).
    expect(noticesIn(mails).sort()).toEqual(['mfa_disabled', 'mfa_enabled', 'recovery_code_used', 'recovery_codes_regenerated']);
    const used = mails.find((x) => NOTICES.recovery_code_used.test(x.subject))!;
    expect(used.text).toContain('9 unused codes are left');
    expect(mails.find((x) => NOTICES.mfa_disabled.test(x.subject))!.text).toContain('An authenticator app was removed');
    expectNoSecret(mails, [user.secret, ...user.recoveryCodes, ...codes, signedIn.accessToken]);
  });

  it("regression: an admin's resetUserMfa mails one mfa_reset notice to the user, naming no admin IP", async () => {
    const user = await signUpWithTotp(m.app);
    const boss = await admin();
    expectOk(await gql(`mutation($id: ID!) { resetUserMfa(id: $id) { id } }`, { id: user.userId }, boss.accessToken));
    const mails = await m.mailsTo(user.email);
    expect(noticesIn(mails).sort()).toEqual(['mfa_enabled', 'mfa_reset']);
    const notice = mails.find((x) => NOTICES.mfa_reset.test(x.subject))!;
    expect(notice.text).toContain('An administrator turned off two-step verification');
    expect(notice.text).not.toContain(AGENT);
    expect(await m.mailsTo(boss.email)).toHaveLength(0);
    expectNoSecret(mails, [user.secret, ...user.recoveryCodes]);
  });

  it('regression: an admin changing the email mails the old address and the new one, one notice each', async () => {
    const user = await signUp(m.app);
    const boss = await admin();
    const newEmail = uniqueEmail('moved');
    expectOk(
      await gql(
        `mutation($id: ID!, $e: String!) { updateUser(id: $id, input: { email: $e }) { id email } }`,
        { id: user.userId, e: newEmail },
        boss.accessToken,
      ),
    );
    expect(noticesIn(await m.mailsTo(user.email))).toEqual(['email_changed_old']);
    expect(noticesIn(await m.mailsTo(newEmail))).toEqual(['email_changed_new']);
    // A change of something else mails nobody.
    expectOk(await gql(`mutation($id: ID!) { updateUser(id: $id, input: { name: "Renamed" }) { id } }`, { id: user.userId }, boss.accessToken));
    expect(await m.mailsTo(newEmail)).toHaveLength(1);
    expectNoSecret([...(await m.mailsTo(user.email)), ...(await m.mailsTo(newEmail))], []);
  });

  it('is written in the user’s language', async () => {
    const { register: registered } = expectOk(await register(m.app, { language: 'de-AT' }));
    expectOk(await changePassword(registered.auth.accessToken));
    const mails = await m.mailsTo(registered.user.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toMatch(/Ihr Passwort für .+ wurde geändert/);
    expect(mails[0]!.html).toContain('<html lang="de">');
    expect(mails[0]!.text).toContain('Wann:');
  });
});
