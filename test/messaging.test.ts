import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessages } from '../src/modules/messaging/delivery.js';
import { renderMail, renderSms, type MailKind } from '../src/modules/messaging/templates.js';
import { createLogger } from '../src/shared/logger.js';
import { createLogMailer, createSmtpMailer, type Mail } from '../src/shared/mailer.js';
import { createLogSmsSender, createWebhookSmsSender } from '../src/shared/sms.js';
import { codeFrom, startMailSink, startSmsSink, tokenFrom, type MailSink, type SmsSink } from './support/sinks.js';

const FROM = 'Gateway <no-reply@gateway.test>';
const TOKEN = 'tok_Secret-Value_0123456789abcdef';

function setup() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { level: number; msg: string });
  const log = () => lines.join('');
  return { lines, logger, records, log };
}

function mail(to: string, token = TOKEN): Mail {
  return {
    to,
    ...renderMail('reset_password', { appName: 'Acme', language: 'en', link: `https://app.test/reset-password?token=${token}`, expiresInMinutes: 60 }),
  };
}

describe('SMTP mailer and delivery', () => {
  let sink: MailSink;
  beforeAll(async () => {
    sink = await startMailSink();
  });
  afterAll(async () => {
    await sink.close();
  });

  it('delivers the text and HTML parts through SMTP from MAIL_FROM', async () => {
    const { logger } = setup();
    const mailer = createSmtpMailer({ url: sink.url, from: FROM, logger });
    expect(mailer.kind).toBe('smtp');
    await mailer.send(mail('Alice@Example.test'));
    await mailer.close();
    const [got] = sink.to('alice@example.test');
    expect(got?.from).toBe('no-reply@gateway.test');
    expect(got?.subject).toBe('Reset your Acme password');
    expect(tokenFrom(got!)).toBe(TOKEN);
    expect(got?.html).toContain(`href="https://app.test/reset-password?token=${TOKEN}"`);
    expect(got?.language).toBe('en');
  });

  it('runs deferred work after the caller returns; idle() waits for it and the mail it queues; a failure is logged', async () => {
    const { logger, records } = setup();
    const messages = createMessages({
      mailer: createSmtpMailer({ url: sink.url, from: FROM, logger }),
      sms: createLogSmsSender({ logger, revealContent: false }),
      logger,
      retryDelaysMs: [10],
    });
    let ran = false;
    messages.defer({ purpose: 'reset_password', userId: 'u9' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      ran = true;
      messages.mail(mail('deferred@example.test'), { purpose: 'reset_password', userId: 'u9' });
    });
    expect(ran).toBe(false);
    messages.defer({ purpose: 'magic_link', userId: 'u10' }, async () => {
      throw new Error('database unavailable');
    });
    await messages.idle();
    expect(ran).toBe(true);
    expect(sink.to('deferred@example.test')).toHaveLength(1);
    expect(records().filter((r) => r.level === 50)).toEqual([
      expect.objectContaining({ purpose: 'magic_link', userId: 'u10', err: expect.objectContaining({ message: 'database unavailable' }) }),
    ]);
    await messages.close();
    messages.defer({ purpose: 'late', userId: null }, async () => {
      throw new Error('must not run');
    });
    await messages.idle();
    expect(records().some((r) => r.msg === 'deferred work dropped: messaging is closed')).toBe(true);
  });

  it('retries a temporary failure and delivers exactly once; the log names neither recipient nor content', async () => {
    const { logger, records, log } = setup();
    const messages = createMessages({
      mailer: createSmtpMailer({ url: sink.url, from: FROM, logger }),
      sms: createLogSmsSender({ logger, revealContent: false }),
      logger,
      retryDelaysMs: [10, 10, 10],
    });
    sink.failNext(2);
    messages.mail(mail('retry@example.test'), { purpose: 'reset_password', userId: 'u1' });
    await messages.idle();
    await messages.close();
    expect(sink.to('retry@example.test')).toHaveLength(1);
    const warnings = records().filter((r) => r.level === 40);
    expect(warnings.map((r) => r.attempt)).toEqual([1, 2]);
    expect(warnings[0]).toMatchObject({ purpose: 'reset_password', userId: 'u1', err: { responseCode: 451, command: 'DATA' } });
    expect(log()).not.toContain(TOKEN);
    expect(log()).not.toContain('retry@example.test');
    expect(log()).not.toContain('Reset your Acme password');
  });

  it('gives up after every retry, logs an error and still becomes idle', async () => {
    const { logger, records, log } = setup();
    const messages = createMessages({
      mailer: createSmtpMailer({ url: sink.url, from: FROM, logger }),
      sms: createLogSmsSender({ logger, revealContent: false }),
      logger,
      retryDelaysMs: [10, 10, 10],
    });
    sink.failNext(4);
    messages.mail(mail('gone@example.test'), { purpose: 'verify_email', userId: 'u2' });
    await messages.idle();
    await messages.close();
    expect(sink.to('gone@example.test')).toHaveLength(0);
    expect(records().filter((r) => r.level === 40)).toHaveLength(3);
    expect(records().filter((r) => r.level === 50)).toEqual([expect.objectContaining({ purpose: 'verify_email', userId: 'u2', attempt: 4 })]);
    expect(log()).not.toContain('gone@example.test');
  });

  it('scrubs the recipient and the message from an error that quotes them', async () => {
    const { logger, records, log } = setup();
    const m = mail('quoted@example.test');
    const link = m.text.split('\n').find((l) => l.includes('token='))!;
    const echo = {
      kind: 'smtp' as const,
      send: async () =>
        Promise.reject(Object.assign(new Error(`550 <quoted@example.test> rejected: ${link}`), { code: 'EENVELOPE', rejected: ['quoted@example.test'] })),
      close: async () => {},
    };
    const messages = createMessages({ mailer: echo, sms: createLogSmsSender({ logger, revealContent: false }), logger, retryDelaysMs: [] });
    messages.mail(m, { purpose: 'reset_password', userId: 'u4' });
    await messages.idle();
    expect(records()[0]).toMatchObject({ level: 50, err: { message: '550 <[redacted]> rejected: [redacted]', errorCode: 'EENVELOPE' } });
    expect(log()).not.toContain('quoted@example.test');
    expect(log()).not.toContain(TOKEN);
  });

  it('close() waits at most its grace, then stops retrying; later messages are dropped with a warning', async () => {
    const { logger, records } = setup();
    const failing = { kind: 'log' as const, send: async () => Promise.reject(new Error('down')), close: async () => {} };
    const messages = createMessages({ mailer: failing, sms: createLogSmsSender({ logger, revealContent: false }), logger, retryDelaysMs: [60_000] });
    messages.mail(mail('late@example.test'), { purpose: 'magic_link' });
    const started = Date.now();
    await messages.close(50);
    expect(Date.now() - started).toBeLessThan(5_000);
    await messages.idle();
    expect(records()).toContainEqual(expect.objectContaining({ dropped: 1 }));
    messages.mail(mail('after@example.test'), { purpose: 'magic_link' });
    expect(records().at(-1)).toMatchObject({ level: 40, msg: 'mail dropped: messaging is closed' });
  });
});

describe('SMS webhook', () => {
  let sink: SmsSink;
  beforeAll(async () => {
    sink = await startSmsSink();
  });
  afterAll(async () => {
    await sink.close();
  });

  it('posts {to, body} as JSON', async () => {
    const sender = createWebhookSmsSender({ url: sink.url });
    expect(sender.kind).toBe('webhook');
    await sender.send({ to: '+14155550100', body: '123456 is your Acme verification code.' });
    expect(sink.to('+14155550100')).toEqual([{ to: '+14155550100', body: '123456 is your Acme verification code.' }]);
  });

  it('a non-2xx answer is an error naming the status only, and delivery retries it', async () => {
    sink.failNext(1);
    const body = '654321 is your Acme sign-in code.';
    const error = await createWebhookSmsSender({ url: sink.url })
      .send({ to: '+14155550101', body })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('SMS webhook answered 500');

    const { logger, log } = setup();
    const messages = createMessages({
      mailer: createLogMailer({ logger, revealContent: false }),
      sms: createWebhookSmsSender({ url: sink.url }),
      logger,
      retryDelaysMs: [10, 10, 10],
    });
    sink.failNext(2);
    messages.sms({ to: '+14155550102', body }, { purpose: 'mfa_code', userId: 'u3' });
    await messages.idle();
    expect(sink.to('+14155550102')).toEqual([{ to: '+14155550102', body }]);
    expect(log()).not.toContain('654321');
    expect(log()).not.toContain('+14155550102');
  });

  it('gives up cleanly on an unreachable URL', async () => {
    const dead = await startSmsSink();
    await dead.close();
    const { logger, records, log } = setup();
    const messages = createMessages({
      mailer: createLogMailer({ logger, revealContent: false }),
      sms: createWebhookSmsSender({ url: dead.url, timeoutMs: 2_000 }),
      logger,
      retryDelaysMs: [10, 10],
    });
    messages.sms({ to: '+14155550103', body: '111222 is your code' }, { purpose: 'phone_verification' });
    await messages.idle();
    expect(records().filter((r) => r.level === 50)).toEqual([expect.objectContaining({ purpose: 'phone_verification', attempt: 3 })]);
    expect(log()).not.toContain('111222');
    expect(log()).not.toContain('+14155550103');
  });
});

describe('log adapters', () => {
  it('reveal the content only when revealContent is true', async () => {
    const dev = setup();
    await createLogMailer({ logger: dev.logger, revealContent: true }).send(mail('dev@example.test'));
    await createLogSmsSender({ logger: dev.logger, revealContent: true }).send({ to: '+14155550104', body: '424242 is your code' });
    expect(dev.records()[0]).toMatchObject({
      level: 30,
      msg: 'mail (not sent: no SMTP_URL)',
      mail: { to: 'dev@example.test', subject: 'Reset your Acme password' },
    });
    expect(dev.log()).toContain(TOKEN);
    expect(dev.log()).toContain('424242');

    const prod = setup();
    await createLogMailer({ logger: prod.logger, revealContent: false }).send(mail('prod@example.test'));
    await createLogSmsSender({ logger: prod.logger, revealContent: false }).send({ to: '+14155550105', body: '434343 is your code' });
    expect(prod.records().map((r) => r.level)).toEqual([40, 40]);
    expect(prod.records()[0]).toMatchObject({ to: 'prod@example.test' });
    expect(prod.log()).not.toContain(TOKEN);
    expect(prod.log()).not.toContain('Reset your Acme password');
    expect(prod.log()).not.toContain('434343');
  });
});

describe('templates', () => {
  const app = 'A&B <Co>';
  const link = 'https://app.test/verify-email?token=abc_DEF-123&x="1"';
  const linkKinds: MailKind[] = ['verify_email', 'reset_password', 'set_password', 'magic_link'];

  it.each(['en', 'de'])('every kind in %s carries the link or code verbatim in text and escaped in HTML', (language) => {
    for (const kind of linkKinds) {
      const out = renderMail(kind, { appName: app, language, link, expiresInMinutes: 15 });
      expect(out.text.split('\n')).toContain(link);
      expect(tokenFrom({ to: '', ...out })).toBe('abc_DEF-123');
      expect(out.text).toContain(app);
      expect(out.html).toContain('href="https://app.test/verify-email?token=abc_DEF-123&amp;x=&quot;1&quot;"');
      expect(out.html).toContain('A&amp;B &lt;Co&gt;');
      expect(out.html).not.toContain(app);
      expect(out.html).not.toContain(link);
    }
    const code = renderMail('mfa_code', { appName: app, language, code: '123456', expiresInMinutes: 10 });
    expect(code.subject).toContain('123456');
    expect(code.text.split('\n')).toContain('123456');
    expect(code.html).toContain('>123456<');
    expect(code.html).not.toContain(app);
  });

  it('says what each mail is for, how long it is valid and that it can be ignored', () => {
    const en = (kind: MailKind, minutes: number) => renderMail(kind, { appName: 'Acme', language: 'en', link, code: '123456', expiresInMinutes: minutes });
    expect(en('verify_email', 1440).subject).toBe('Confirm your email address for Acme');
    expect(en('verify_email', 1440).text).toContain('valid for 24 hours');
    expect(en('reset_password', 60).subject).toBe('Reset your Acme password');
    expect(en('reset_password', 60).text).toContain('valid for 1 hour.');
    expect(en('set_password', 90).text).toContain('valid for 90 minutes');
    expect(en('set_password', 90).text.toLowerCase()).toContain('set your password');
    expect(en('magic_link', 15).subject).toBe('Your Acme sign-in link');
    expect(en('mfa_code', 1).subject).toBe('Your Acme sign-in code: 123456');
    expect(en('mfa_code', 1).text).toContain('valid for 1 minute.');
    expect(en('mfa_setup_code', 5).subject).toBe('Your Acme verification code: 123456');
    expect(en('mfa_setup_code', 5).text).toContain('turn on email codes');
    for (const kind of [...linkKinds, 'mfa_code', 'mfa_setup_code'] as const) expect(en(kind, 15).text).toContain('you can ignore this email');
  });

  it('picks the language by primary subtag and falls back to English', () => {
    const mailIn = (language: string | null) => renderMail('magic_link', { appName: 'Acme', language, link, expiresInMinutes: 120 });
    expect(mailIn('de-AT').subject).toBe('Ihr Anmeldelink für Acme');
    expect(mailIn('DE').text).toContain('2 Stunden gültig');
    expect(mailIn('de-AT').html).toContain('<html lang="de">');
    expect(mailIn('fr-CA').subject).toBe('Votre lien de connexion à Acme');
    expect(mailIn('es').subject).toBe('Tu enlace de inicio de sesión en Acme');
    expect(mailIn('pt').subject).toBe('Your Acme sign-in link');
    expect(mailIn(null).subject).toBe('Your Acme sign-in link');
    expect(mailIn('x-klingon').subject).toBe('Your Acme sign-in link');
  });

  it('SMS bodies put the code first and say when it expires', () => {
    const sms = renderSms('phone_verification', { appName: 'Acme', language: 'en-GB', code: '987654', expiresInMinutes: 5 });
    expect(sms).toBe('987654 is your Acme verification code. It expires in 5 minutes.');
    expect(codeFrom(sms)).toBe('987654');
    expect(renderSms('mfa_code', { appName: 'Acme', language: 'de', code: '987654', expiresInMinutes: 5 })).toBe(
      '987654 ist Ihr Anmeldecode für Acme. Er läuft in 5 Minuten ab.',
    );
    expect(renderSms('mfa_code', { appName: 'Acme', language: 'fr', code: '1', expiresInMinutes: 60 })).toContain('Il expire dans 1 heure.');
  });
});
