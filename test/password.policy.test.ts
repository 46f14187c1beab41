import { describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { expectCode, expectOk, login, PASSWORD, signUp } from './support/actions.js';

const APP_NAME = 'Zorbiq Cloud';

describe.each(backends())('password policy: blocklist and context words (%s)', (backend) => {
  const app = useTestApp(backend, { env: { APP_NAME } });

  let counter = 0;
  /** An address whose local part and domain are words a password could be built on. */
  const emailOf = () => `grace.hopper${counter++}@navylabs.example.com`;

  function register(email: string, password: string) {
    return app.gql(`mutation($input: RegisterInput!) { register(input: $input) { user { id } } }`, { input: { email, password } });
  }

  function expectWeak(result: Awaited<ReturnType<typeof register>>, password: string, why: RegExp) {
    expectCode(result, 'WEAK_PASSWORD');
    const message = result.errors![0]!.message;
    expect(message).toMatch(why);
    expect(message.toLowerCase()).not.toContain(password.toLowerCase());
  }

  describe('regression: passwords that were accepted', () => {
    it.each<[string, (email: string) => string, RegExp]>([
      ['Password123! (a common word with digits and a symbol)', () => 'Password123!', /common password with digits or symbols/],
      ['Monkey2024!! (a common word with a year)', () => 'Monkey2024!!', /common password with digits or symbols/],
      ['the email local part plus a year', (email) => `${email.split('@')[0]}2026`, /email address/],
      ['the local part, capitalised, with a year and a symbol', (email) => `${email.split('@')[0]!.replace('grace', 'Grace')}1906!`, /email address/],
      ['a word of the email domain plus a year', () => 'NavyLabs2026', /email address/],
      ['the product name plus a year', () => 'ZorbiqCloud2026', /name of this service/],
      ['a word of the product name, a year and a symbol', () => 'zorbiq2026!', /name of this service/],
      ['the product name plus a common password', () => 'zorbiqqwerty', /name of this service/],
      ['a breached password only the larger list has', () => 'abbeyroad', /list of common or breached passwords/],
      ['another breached password, in upper case', () => 'ABABAGALAMAGA', /list of common or breached passwords/],
    ])('%s is WEAK_PASSWORD, with a reason and without the password in the message', async (_name, make, why) => {
      const email = emailOf();
      const password = make(email);
      expectWeak(await register(email, password), password, why);
      expectCode(await login(app, email, password), 'INVALID_CREDENTIALS');
    });
  });

  it('changePassword applies the same context: the email local part plus a year is refused', async () => {
    const user = await signUp(app, { email: emailOf() });
    const weak = `${user.email.split('@')[0]}2024`;
    const result = await app.gql(
      `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`,
      { c: PASSWORD, n: weak },
      { token: user.accessToken },
    );
    expectWeak(result, weak, /email address/);
    expectOk(await login(app, user.email, PASSWORD));
  });

  it.each([
    'correct horse battery staple',
    'grace hopper wrote the first compiler',
    'zorbiq is where my photos live, 1987',
    'Tr0ub4dor&3-lamp',
    'xK9#mQ2$vL8@',
  ])('accepts %s and signs in with it', async (password) => {
    const email = emailOf();
    expectOk(await register(email, password));
    expectOk(await login(app, email, password));
  });
});
