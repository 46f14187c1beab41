import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestApp, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, login, PASSWORD, register, signUp, uniqueEmail, uniqueRequestPrefix } from './support/actions.js';

const SECRET = 'siteverify-secret';

/**
 * A siteverify-compatible stub (Turnstile/hCaptcha/reCAPTCHA protocol): token `good` passes,
 * `slow` answers after the verifier's timeout, anything else fails. `answer` sets the
 * hostname, action and challenge_ts it reports (an action of undefined is left out, as
 * providers without actions do). Records what it was sent.
 */
async function startSiteverify() {
  const received: URLSearchParams[] = [];
  const answer: { hostname: string; action: string | undefined; solvedAt: () => number } = { hostname: 'app.test', action: undefined, solvedAt: Date.now };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      received.push(form);
      const reply = () => {
        res.setHeader('content-type', 'application/json');
        const success = form.get('secret') === SECRET && form.get('response') === 'good';
        res.end(JSON.stringify({ success, hostname: answer.hostname, action: answer.action, challenge_ts: new Date(answer.solvedAt()).toISOString() }));
      };
      if (form.get('response') === 'slow') setTimeout(reply, 4_000);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/siteverify`;
  return { url, received, answer, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const WRONG = 'definitely not the password';

async function loginWith(app: TestApp, email: string, password: string, captchaToken?: string, headers?: Record<string, string>) {
  return app.gql(`mutation($input: LoginInput!) { login(input: $input) { accessToken } }`, { input: { email, password, captchaToken } }, { headers });
}

describe.each(backends())('CAPTCHA (%s)', (backend) => {
  let stub: Awaited<ReturnType<typeof startSiteverify>>;
  beforeAll(async () => {
    stub = await startSiteverify();
  });
  afterAll(() => stub?.close());
  // Opened after the stub (its URL is known only then), closed before it.
  const app = useTestApp(backend, { env: () => ({ CAPTCHA_VERIFY_URL: stub.url, CAPTCHA_SECRET: SECRET }) });
  // biome-ignore lint/suspicious/noDuplicateTestHooks: runs after useTestApp's hook has opened the app
  beforeAll(() => {
    stub.answer.solvedAt = app.clock.now;
  });

  it('asks for a CAPTCHA after 5 failures, before evaluating the password, for known and unknown emails', async () => {
    for (const email of [(await signUp(app)).email, uniqueEmail('ghost')]) {
      for (let i = 0; i < 5; i++) expectCode(await login(app, email, WRONG), 'INVALID_CREDENTIALS');
      const before = app.hasher.calls.verify;
      expectCode(await loginWith(app, email, PASSWORD), 'CAPTCHA_REQUIRED');
      expectCode(await loginWith(app, email, PASSWORD, 'bad'), 'CAPTCHA_INVALID');
      expect(app.hasher.calls.verify).toBe(before);
    }
  });

  it('lets a solved CAPTCHA through, sends the secret and the client IP, and a success clears the streak', async () => {
    const user = await signUp(app);
    for (let i = 0; i < 5; i++) await login(app, user.email, WRONG);
    const sent = stub.received.length;
    expectOk(await loginWith(app, user.email, PASSWORD, 'good'));
    const form = stub.received[sent]!;
    expect(form.get('secret')).toBe(SECRET);
    expect(form.get('response')).toBe('good');
    expectOk(await loginWith(app, user.email, PASSWORD));
  });

  it('fails closed when the provider does not answer in time', async () => {
    const email = uniqueEmail('slow');
    for (let i = 0; i < 5; i++) await login(app, email, WRONG);
    expectCode(await loginWith(app, email, PASSWORD, 'slow'), 'CAPTCHA_INVALID');
  });

  it('regression: 50 concurrent wrong logins without a token get exactly LOGIN_CAPTCHA_AFTER password checks', async () => {
    // The streak used to be read before the atomic gate, so concurrent attempts all saw 0 and
    // skipped the CAPTCHA: 10 password checks instead of 5.
    for (const email of [(await signUp(app)).email, uniqueEmail('ghost')]) {
      const before = app.hasher.calls.verify;
      const results = await Promise.all(Array.from({ length: 50 }, () => login(app, email, WRONG)));
      const codes = results.map((r) => r.errors?.[0]?.extensions.code);
      expect(app.hasher.calls.verify - before).toBe(5);
      expect(codes.filter((c) => c === 'INVALID_CREDENTIALS')).toHaveLength(5);
      expect(codes.filter((c) => c === 'CAPTCHA_REQUIRED')).toHaveLength(45);
    }
  });

  it('regression: a refused CAPTCHA lets no password check through and does not count towards the lockout', async () => {
    const user = await signUp(app);
    for (let i = 0; i < 5; i++) await login(app, user.email, WRONG);
    const before = app.hasher.calls.verify;
    const results = await Promise.all(Array.from({ length: 20 }, () => loginWith(app, user.email, PASSWORD, 'bad')));
    expect(results.every((r) => r.errors?.[0]?.extensions.code === 'CAPTCHA_INVALID')).toBe(true);
    expect(app.hasher.calls.verify).toBe(before);
    // Still at 5 failures: a solved CAPTCHA and the right password sign in without any wait.
    expectOk(await loginWith(app, user.email, PASSWORD, 'good'));
  });

  it('records captcha.failed without the token', async () => {
    const email = uniqueEmail('audit');
    for (let i = 0; i < 5; i++) await login(app, email, WRONG);
    const prefix = uniqueRequestPrefix('captcha');
    expectCode(await loginWith(app, email, PASSWORD, 'bad-token-value', { 'x-request-id': `${prefix}0` }), 'CAPTCHA_INVALID');
    // This request's rows only: an earlier test's captcha.failed cannot stand in for it.
    const rows = await auditRows(app, { action: 'captcha.failed', requestIdPrefix: prefix });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'FAILURE', metadata: { operation: 'login' } });
    expect(JSON.stringify(rows)).not.toContain('bad-token-value');
  });
});

describe.each(backends())('CAPTCHA always required (%s)', (backend) => {
  let stub: Awaited<ReturnType<typeof startSiteverify>>;
  beforeAll(async () => {
    stub = await startSiteverify();
  });
  afterAll(() => stub?.close());
  // Opened after the stub (its URL is known only then), closed before it.
  const app = useTestApp(backend, { env: () => ({ CAPTCHA_VERIFY_URL: stub.url, CAPTCHA_SECRET: SECRET, CAPTCHA_REQUIRED_FOR: 'register,login' }) });
  // biome-ignore lint/suspicious/noDuplicateTestHooks: runs after useTestApp's hook has opened the app
  beforeAll(() => {
    stub.answer.solvedAt = app.clock.now;
  });

  it('needs a CAPTCHA on every register and login', async () => {
    const email = uniqueEmail();
    expectCode(await register(app, { email }), 'CAPTCHA_REQUIRED');
    expectCode(await register(app, { email, captchaToken: 'bad' }), 'CAPTCHA_INVALID');
    expectOk(await register(app, { email, captchaToken: 'good' }));
    expectCode(await loginWith(app, email, PASSWORD), 'CAPTCHA_REQUIRED');
    expectOk(await loginWith(app, email, PASSWORD, 'good'));
  });

  it('fails closed when the provider cannot be reached', async () => {
    await stub.close();
    expectCode(await loginWith(app, uniqueEmail(), PASSWORD, 'good'), 'CAPTCHA_INVALID');
  });
});

describe.each(backends())('CAPTCHA answer checks (%s)', (backend) => {
  let stub: Awaited<ReturnType<typeof startSiteverify>>;
  beforeAll(async () => {
    stub = await startSiteverify();
  });
  afterAll(() => stub?.close());
  // Opened after the stub (its URL is known only then), closed before it.
  const app = useTestApp(backend, {
    env: () => ({
      CAPTCHA_VERIFY_URL: stub.url,
      CAPTCHA_SECRET: SECRET,
      CAPTCHA_REQUIRED_FOR: 'login',
      CAPTCHA_HOSTNAMES: 'app.test,www.app.test',
      CAPTCHA_MAX_AGE: '2m',
    }),
  });
  const attempt = () => loginWith(app, uniqueEmail(), PASSWORD, 'good');
  const reset = () => Object.assign(stub.answer, { hostname: 'app.test', action: undefined, solvedAt: app.clock.now });

  it('accepts a token solved on an expected hostname, for this operation, recently', async () => {
    reset();
    expectCode(await attempt(), 'INVALID_CREDENTIALS');
    Object.assign(stub.answer, { hostname: 'WWW.app.test', action: 'login' });
    expectCode(await attempt(), 'INVALID_CREDENTIALS');
  });

  it('refuses a token solved on another hostname (CAPTCHA_HOSTNAMES)', async () => {
    reset();
    stub.answer.hostname = 'evil.test';
    expectCode(await attempt(), 'CAPTCHA_INVALID');
  });

  it('refuses a token whose action is another operation', async () => {
    reset();
    stub.answer.action = 'register';
    expectCode(await attempt(), 'CAPTCHA_INVALID');
  });

  it('refuses a token solved longer ago than CAPTCHA_MAX_AGE, by the injected clock', async () => {
    reset();
    const solved = app.clock.now();
    stub.answer.solvedAt = () => solved;
    app.clock.advance(110_000);
    expectCode(await attempt(), 'INVALID_CREDENTIALS');
    app.clock.advance(20_000);
    expectCode(await attempt(), 'CAPTCHA_INVALID');
  });
});
