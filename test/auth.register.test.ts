import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../src/modules/audit/tables.js';
import { users } from '../src/modules/users/tables.js';
import { backends, createShared, createTestApp, type Shared, type TestApp } from './support/app.js';
import { AUTH_FIELDS, auditRows, codeOf, expectCode, expectOk, login, me, PASSWORD, uniqueEmail } from './support/actions.js';

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { user { id email roles caps } auth { ${AUTH_FIELDS} } } }`;

/** Sends exactly the given input (the shared `register` helper fills in a password). */
function registerWith(app: TestApp, input: Record<string, unknown>) {
  return app.gql(REGISTER, { input });
}

/** A syntactically valid email of exactly `length` characters. */
function emailOfLength(length: number): string {
  const local = uniqueEmail('long').split('@')[0]!;
  const size = length - local.length - 1 - '.com'.length;
  const chars = Array.from({ length: size }, (_, i) => (i % 61 === 60 ? '.' : 'a'));
  if (chars[size - 1] === '.') chars[size - 1] = 'a';
  const email = `${local}@${chars.join('')}.com`;
  expect(email).toHaveLength(length);
  return email;
}

/** A password of `length` characters that is neither common nor one repeated character. */
function passwordOfLength(length: number): string {
  return Array.from({ length }, (_, i) => String.fromCharCode(97 + ((i * 7 + Math.floor(i / 26)) % 26))).join('');
}

async function counts(app: TestApp) {
  const [u] = await app.deps.db.select({ n: count() }).from(users);
  const [a] = await app.deps.db.select({ n: count() }).from(auditEvents);
  return { users: u!.n, audit: a!.n };
}

describe.each(backends())('register (%s)', (backend) => {
  let shared: Shared;
  let app: TestApp;
  beforeAll(async () => {
    shared = await createShared(backend);
    app = await createTestApp(shared);
  });
  afterAll(() => app?.close());

  it('returns the user with a trimmed, lower-cased email, the user role, no caps and working tokens', async () => {
    const local = uniqueEmail('Mixed.Case').split('@')[0]!;
    const data = expectOk(await registerWith(app, { email: `  ${local}@Example.COM `, password: PASSWORD })).register;
    const email = `${local.toLowerCase()}@example.com`;
    expect(data.user).toMatchObject({ email, roles: ['user'], caps: [] });
    expect(data.auth).toMatchObject({ mfaRequired: false, user: { id: data.user.id, email } });
    const profile = expectOk(await me(app, data.auth.accessToken)).me;
    expect(profile).toMatchObject({ id: data.user.id, email, roles: ['user'], caps: [] });
    const refreshed = expectOk(await app.gql(`mutation($t: String) { refreshToken(refreshToken: $t) { accessToken } }`, { t: data.auth.refreshToken }));
    expectOk(await me(app, refreshed.refreshToken.accessToken));
  });

  it('records user.registered with the outcome, client ip and user agent', async () => {
    const url = await app.listen();
    const email = uniqueEmail();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'register-test/1.0' },
      body: JSON.stringify({ query: REGISTER, variables: { input: { email, password: PASSWORD } } }),
    });
    const body = (await response.json()) as { data: any; errors?: unknown };
    expect(body.errors).toBeUndefined();
    const userId = body.data.register.user.id;
    const rows = await auditRows(app, { userId, action: 'user.registered' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'SUCCESS', userId, actorId: userId, ip: '127.0.0.1', userAgent: 'register-test/1.0' });
  });

  it('answers EMAIL_TAKEN for an existing email in another case', async () => {
    const email = uniqueEmail();
    expectOk(await registerWith(app, { email, password: PASSWORD }));
    expectCode(await registerWith(app, { email: `  ${email.toUpperCase()}`, password: 'another good passphrase' }), 'EMAIL_TAKEN');
  });

  it.each([
    ['not an email', () => 'not-an-email'],
    ['a 255-character email', () => emailOfLength(255)],
    ['a 300-character email', () => emailOfLength(300)],
  ])('answers BAD_USER_INPUT on email for %s', async (_, email) => {
    const result = await registerWith(app, { email: email(), password: PASSWORD });
    expectCode(result, 'BAD_USER_INPUT');
    expect(result.errors![0]!.extensions.field).toBe('email');
  });

  it('accepts a 254-character email', async () => {
    const email = emailOfLength(254);
    expect(expectOk(await registerWith(app, { email, password: PASSWORD })).register.user.email).toBe(email);
  });

  it('creates a passwordless account without a session when the password is omitted', async () => {
    const result = expectOk(await registerWith(app, { email: uniqueEmail() })).register;
    expect(result.auth).toBeNull();
    const [row] = await app.deps.db.select().from(users).where(eq(users.id, result.user.id));
    // A random password nobody knows: the account has a hash like any other, and no session.
    expect(row!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row!.lastLoginAt).toBeNull();
  });

  it.each<[string, (email: string) => string]>([
    ['7 characters', () => 'tulip7x'],
    ['a common password (password1)', () => 'password1'],
    ['a common password (qwerty123)', () => 'qwerty123'],
    ['a common password in another case', () => 'PassWord1'],
    ['the email itself', (email) => email],
    ['the email in upper case', (email) => email.toUpperCase()],
    ['the local part of the email', (email) => email.split('@')[0]!],
    ['one repeated character', () => 'aaaaaaaaaa'],
    ['one repeated multi-byte character', () => '🔑🔑🔑🔑🔑🔑🔑🔑'],
    ['7 astral characters (14 UTF-16 units)', () => '😀😁😂🙂🙃😉😊'],
    ['257 characters', () => passwordOfLength(257)],
  ])('answers WEAK_PASSWORD for %s', async (_, password) => {
    const email = uniqueEmail('weakcheck');
    expectCode(await registerWith(app, { email, password: password(email) }), 'WEAK_PASSWORD');
  });

  it.each([
    ['256 characters', passwordOfLength(256)],
    ['8 multi-byte characters', 'ééééçççç'],
    ['two alternating characters', 'açaçaçaç'],
  ])('accepts %s and signs in with it', async (_, password) => {
    const email = uniqueEmail();
    expectOk(await registerWith(app, { email, password }));
    expectOk(await login(app, email, password));
  });

  it('honours PASSWORD_MIN_LENGTH=12: 11 characters are refused, 12 accepted', async () => {
    const strict = await createTestApp(shared, { env: { PASSWORD_MIN_LENGTH: '12' } });
    try {
      const password = 'violet-anchor-92';
      expectCode(await registerWith(strict, { email: uniqueEmail(), password: password.slice(0, 11) }), 'WEAK_PASSWORD');
      expectOk(await registerWith(strict, { email: uniqueEmail(), password: password.slice(0, 12) }));
    } finally {
      await strict.close();
    }
  });

  it('writes no user and no audit row for a rejected registration', async () => {
    const taken = uniqueEmail();
    expectOk(await registerWith(app, { email: taken, password: PASSWORD }));
    const before = await counts(app);
    const rejected = [
      await registerWith(app, { email: uniqueEmail(), password: 'short' }),
      await registerWith(app, { email: uniqueEmail(), password: 'password1' }),
      await registerWith(app, { email: taken.toUpperCase(), password: PASSWORD }),
      await registerWith(app, { email: 'not-an-email', password: PASSWORD }),
      await registerWith(app, { email: uniqueEmail(), phone: '12345' }),
      await registerWith(app, { email: uniqueEmail(), password: PASSWORD, language: 'english!' }),
    ];
    expect(rejected.map(codeOf)).toEqual(['WEAK_PASSWORD', 'WEAK_PASSWORD', 'EMAIL_TAKEN', 'BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT']);
    expect(await counts(app)).toEqual(before);
  });

  it('stores the profile fields given at registration', async () => {
    const input = { email: uniqueEmail(), password: PASSWORD, name: 'Ada Lovelace', firstName: 'Ada', lastName: 'Lovelace', language: 'pt-BR' };
    const { register } = expectOk(await registerWith(app, input));
    const profile = expectOk(await me(app, register.auth.accessToken)).me;
    expect(profile).toMatchObject({ name: 'Ada Lovelace', firstName: 'Ada', lastName: 'Lovelace', language: 'pt-BR' });
  });

  it('answers BAD_USER_INPUT on language for a tag that is not BCP 47', async () => {
    const result = await registerWith(app, { email: uniqueEmail(), password: PASSWORD, language: 'english!' });
    expectCode(result, 'BAD_USER_INPUT');
    expect(result.errors![0]!.extensions.field).toBe('language');
  });

  it('lets exactly one of two concurrent registrations of one email through; the other gets EMAIL_TAKEN', async () => {
    const emails = [uniqueEmail(), uniqueEmail(), uniqueEmail()];
    const results = await Promise.all(
      emails.flatMap((email) => [registerWith(app, { email, password: PASSWORD }), registerWith(app, { email: email.toUpperCase(), password: PASSWORD })]),
    );
    for (const [i, email] of emails.entries()) {
      const pair = results.slice(i * 2, i * 2 + 2);
      expect(pair.map(codeOf).sort()).toEqual(['EMAIL_TAKEN', null]);
      const rows = await app.deps.db.select().from(users).where(eq(users.email, email));
      expect(rows).toHaveLength(1);
      expect(await auditRows(app, { userId: rows[0]!.id, action: 'user.registered' })).toHaveLength(1);
    }
  });
});
