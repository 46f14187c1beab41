import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/client.js';
import { createPostgresQueue } from '../src/modules/messaging/queue.js';
import { outboundMessages } from '../src/modules/messaging/tables.js';
import { renderMail } from '../src/modules/messaging/templates.js';
import { deriveKey } from '../src/shared/crypto.js';
import { backends, createShared, createTestApp, SECRET_KEY, type Backend, type Shared, type TestApp } from './support/app.js';
import { expectOk, login, signUp } from './support/actions.js';
import { APP_URL, MAIL_FROM, linkToken, rateLimits } from './support/messages.js';
import { startMailSink, type MailSink } from './support/sinks.js';

/** An SMTP server that accepts connections and never says a word: a send to it hangs. */
async function startSilentSmtp(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => void sockets.add(socket));
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const requestReset = (app: TestApp, email: string) => app.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: email });
const rows = (app: TestApp) => app.deps.db.select().from(outboundMessages);

describe.each(backends())('durable mail queue (%s)', (backend) => {
  let sink: MailSink;
  let silent: Awaited<ReturnType<typeof startSilentSmtp>>;
  let shared: Shared;
  let dir: string | undefined;
  const apps: TestApp[] = [];
  const open = async (smtpUrl: string) => {
    const app = await createTestApp(shared, { env: { SMTP_URL: smtpUrl, MAIL_FROM, APP_URL, RATE_LIMITS: rateLimits() } });
    apps.push(app);
    return app;
  };
  beforeAll(async () => {
    sink = await startMailSink();
    silent = await startSilentSmtp();
    // Embedded: one PGlite directory, opened by one app after the other.
    dir = backend === 'embedded' ? mkdtempSync(join(tmpdir(), 'gag-queue-')) : undefined;
    shared = await createShared(backend as Backend, dir);
  });
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await sink.close();
    await silent.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('regression: a mail queued by an instance that stops before delivering it is delivered by the next one, once, and its link works', async () => {
    const first = await open(silent.url);
    const user = await signUp(first);
    expectOk(await requestReset(first, user.email));
    // The first instance claimed it and hangs in the send.
    await expect.poll(async () => (await rows(first)).filter((r) => r.purpose === 'reset_password' && r.claimedBy !== null).length, { timeout: 5_000 }).toBe(1);
    const [queued] = (await rows(first)).filter((r) => r.purpose === 'reset_password');
    // At rest the payload is ciphertext: no address, link or token in the table.
    expect(queued!.payloadEnc).toMatch(/^v1\./);
    expect(queued!.payloadEnc).not.toContain(user.email);
    expect(queued!.payloadEnc).not.toContain('reset-password');
    await first.deps.messages.close(100);
    await first.close();

    const second = await open(sink.url);
    await expect.poll(async () => (await rows(second)).filter((r) => r.id === queued!.id).length, { timeout: 10_000 }).toBe(0);
    const mails = sink.to(user.email).filter((m) => m.text.includes('/reset-password?token='));
    expect(mails).toHaveLength(1);
    const token = linkToken(mails[0]!, 'reset-password');
    expectOk(
      await second.gql(`mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`, { t: token, p: 'a brand new passphrase 42' }),
    );
    expectOk(await login(second, user.email, 'a brand new passphrase 42'));
    // Nothing from the log: the recipient and the link never appear in it.
    const log = [...first.logs, ...second.logs].join('\n');
    expect(log).not.toContain(token);
  });

  it('a message that fails every attempt ends FAILED with its payload wiped, and the log names no recipient', async () => {
    const app = apps.at(-1)!;
    const user = await signUp(app);
    await app.deps.messages.idle();
    sink.failNext(100);
    try {
      expectOk(await requestReset(app, user.email));
      await app.deps.messages.idle();
    } finally {
      sink.failNext(0);
    }
    const [row] = (await rows(app)).filter((r) => r.userId === user.userId && r.purpose === 'reset_password');
    expect(row).toMatchObject({ status: 'FAILED', payloadEnc: null, attempts: 4, claimedBy: null });
    expect(row!.lastError).toContain('Temporary failure');
    expect(row!.lastError).not.toContain(user.email);
    expect(app.logs.join('\n')).not.toContain(user.email);
  });
});

describe.each(backends())('message queue claims (%s)', (backend) => {
  let database: Database;
  beforeAll(async () => {
    const shared = await createShared(backend);
    database = await createDatabase({ url: shared.env.DATABASE_URL, dataDir: shared.env.DATA_DIR });
    await database.migrate();
  });
  afterAll(() => database?.close());

  it("a crashed worker's claim expires and another worker takes the message; the first can no longer finish it", async () => {
    const queue = createPostgresQueue(database.db, deriveKey(SECRET_KEY, 'message-queue'));
    const payload = JSON.stringify({ to: 'crash@example.test', subject: 's', text: 't', html: 'h' });
    await queue.add({ id: '00000000-0000-4000-8000-000000000001', channel: 'mail', purpose: 'magic_link', userId: null, payload });
    expect(await queue.claim('crashed', 10, 200)).toEqual([expect.objectContaining({ payload, attempts: 1 })]);
    expect(await queue.claim('other', 10, 60_000)).toEqual([]);
    let taken: Awaited<ReturnType<typeof queue.claim>> = [];
    await expect.poll(async () => (taken = taken.length ? taken : await queue.claim('other', 10, 60_000)).length, { timeout: 5_000 }).toBe(1);
    expect(taken[0]).toMatchObject({ payload, attempts: 2 });
    await queue.done(taken[0]!.id, 'crashed');
    expect(await queue.pending([taken[0]!.id])).toEqual(new Set([taken[0]!.id]));
    await queue.done(taken[0]!.id, 'other');
    expect(await database.db.select().from(outboundMessages).where(eq(outboundMessages.id, taken[0]!.id))).toEqual([]);
  });
});

describe.runIf(backends().includes('real'))('two instances on one queue (real)', () => {
  let sink: MailSink;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    sink = await startMailSink();
    const shared = await createShared('real');
    const env = { SMTP_URL: sink.url, MAIL_FROM, APP_URL, RATE_LIMITS: rateLimits() };
    apps.push(await createTestApp(shared, { env }), await createTestApp(shared, { env }));
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await sink.close();
  });

  it('never deliver one message twice, while both claim at once', async () => {
    const recipients = Array.from({ length: 40 }, (_, i) => `twice.${i}.${Date.now()}@example.test`);
    recipients.forEach((to, i) => {
      const mail = renderMail('magic_link', { appName: 'Acme', language: 'en', link: `https://app.test/magic-link?token=t${i}`, expiresInMinutes: 15 });
      apps[i % 2]!.deps.messages.mail({ to, ...mail }, { purpose: 'magic_link' });
    });
    await Promise.all(apps.map((app) => app.deps.messages.idle()));
    expect(await rows(apps[0]!)).toEqual([]);
    expect(
      sink.mails
        .filter((m) => recipients.includes(m.to))
        .map((m) => m.to)
        .sort(),
    ).toEqual([...recipients].sort());
  });
});
