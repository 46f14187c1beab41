import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createShared, createTestApp, type Backend, type Shared, type TestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, login, me, PASSWORD, register, signIn, signUp, uniqueEmail, type Tokens } from './support/actions.js';
import { startMailSink, tokenFrom, type MailSink } from './support/sinks.js';
import { CATALOGUE } from './support/caps.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** State that outlives an app: a temp DATA_DIR on the embedded backend (memory:// dies with the app). */
async function durableShared(backend: Backend): Promise<Shared> {
  if (backend === 'real') return createShared('real');
  const dir = mkdtempSync(join(tmpdir(), 'gag-admin-'));
  dirs.push(dir);
  return createShared('embedded', dir);
}

/** Starts an app, runs `body`, and always closes it (PGlite holds DATA_DIR until then). */
async function withApp<T>(shared: Shared, env: Record<string, string>, body: (app: TestApp) => Promise<T>): Promise<T> {
  const app = await createTestApp(shared, { env });
  try {
    return await body(app);
  } finally {
    await app.close();
  }
}

/** Ids of the users holding `admin`, as an admin sees them. */
async function adminIds(app: TestApp, token: string): Promise<string[]> {
  const data = expectOk(await app.gql(`{ users(filter: { role: "admin" }, first: 100) { totalCount nodes { id } } }`, {}, { token }));
  expect(data.users.nodes).toHaveLength(data.users.totalCount);
  return data.users.nodes.map((n: { id: string }) => n.id);
}

const ADMIN_ENV = { ADMIN_EMAIL, ADMIN_PASSWORD };

let mail: MailSink;
beforeAll(async () => {
  mail = await startMailSink();
});
afterAll(() => mail?.close());

/** The account proves its address as a user does: requestEmailVerification, then the mailed link. */
async function verifyOwnEmail(app: TestApp, user: Tokens): Promise<void> {
  expectOk(await app.gql(`mutation { requestEmailVerification }`, {}, { token: user.accessToken }));
  await app.deps.messages.idle();
  const token = tokenFrom(mail.to(user.email).at(-1)!);
  expectOk(await app.gql(`mutation($t: String!) { verifyEmail(token: $t) }`, { t: token }));
  expect(expectOk(await me(app, user.accessToken)).me.emailVerified).toBe(true);
}

/** Logged lines (parsed) whose message contains `text`. */
const logsWith = (app: TestApp, text: string) => app.logs.map((line) => JSON.parse(line) as { msg: string }).filter((l) => l.msg.includes(text));

describe('embedded default without ADMIN_*', () => {
  it('announces an email and a password once; that admin holds role admin and every cap', async () => {
    const shared = await durableShared('embedded');
    const first = await withApp(shared, {}, async (app) => {
      expect(app.announced).toHaveLength(1);
      const email = /email:\s+(\S+)/.exec(app.announced[0]!)?.[1];
      const password = /password:\s+(\S+)/.exec(app.announced[0]!)?.[1];
      expect(email).toMatch(/@/);
      expect(password!.length).toBeGreaterThanOrEqual(16);
      // Shown on the console only: the structured log never holds the password.
      expect(app.logs.join('\n')).not.toContain(password);
      const admin = await signIn(app, email!, password!);
      const self = expectOk(await me(app, admin.accessToken)).me;
      expect(self.roles).toContain('admin');
      expect([...self.caps].sort()).toEqual([...CATALOGUE].sort());
      expect(await adminIds(app, admin.accessToken)).toEqual([admin.userId]);
      return { email: email!, password: password!, id: admin.userId };
    });

    await withApp(shared, {}, async (app) => {
      expect(app.announced).toEqual([]);
      const again = await signIn(app, first.email, first.password);
      expect(again.userId).toBe(first.id);
      expect(await adminIds(app, again.accessToken)).toEqual([first.id]);
    });
  });
});

describe.each(backends())('ADMIN_EMAIL and ADMIN_PASSWORD (%s)', (backend) => {
  it('create the admin; a restart changes nothing: same id, no duplicate, the password the admin chose is kept', async () => {
    const shared = await durableShared(backend);
    const chosen = 'my own admin passphrase 9';
    const id = await withApp(shared, ADMIN_ENV, async (app) => {
      expect(app.announced).toEqual([]);
      const admin = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
      expect(expectOk(await me(app, admin.accessToken)).me.roles).toEqual(['admin', 'user']);
      expect(await adminIds(app, admin.accessToken)).toEqual([admin.userId]);
      const changed = await app.gql(
        `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`,
        { c: ADMIN_PASSWORD, n: chosen },
        { token: admin.accessToken },
      );
      expectOk(changed);
      return admin.userId;
    });

    await withApp(shared, ADMIN_ENV, async (app) => {
      expect(app.announced).toEqual([]);
      expectCode(await login(app, ADMIN_EMAIL, ADMIN_PASSWORD), 'INVALID_CREDENTIALS');
      const admin = await signIn(app, ADMIN_EMAIL, chosen);
      expect(admin.userId).toBe(id);
      expect(await adminIds(app, admin.accessToken)).toEqual([id]);
      const total = expectOk(await app.gql(`{ users(filter: { search: "${ADMIN_EMAIL}" }) { totalCount } }`, {}, { token: admin.accessToken }));
      expect(total.users.totalCount).toBe(1);
      expect(await auditRows(app, { userId: id, action: 'admin.user_created' })).toHaveLength(1);
    });
  });

  it('promote an existing account with a verified email, which keeps its own password; the log says ADMIN_PASSWORD was not applied', async () => {
    const shared = await durableShared(backend);
    const email = uniqueEmail('owner');
    const user = await withApp(shared, { SMTP_URL: mail.url }, async (app) => {
      const user = await signUp(app, { email });
      await verifyOwnEmail(app, user);
      return user;
    });
    await withApp(shared, { ADMIN_EMAIL: email, ADMIN_PASSWORD }, async (app) => {
      expectCode(await login(app, email, ADMIN_PASSWORD), 'INVALID_CREDENTIALS');
      const admin = await signIn(app, email, PASSWORD);
      expect(admin.userId).toBe(user.userId);
      expect(expectOk(await me(app, admin.accessToken)).me.roles).toContain('admin');
      expect(await adminIds(app, admin.accessToken)).toContain(user.userId);
      expect(logsWith(app, 'promoted to admin')).toEqual([
        expect.objectContaining({ msg: expect.stringContaining('ADMIN_PASSWORD is not applied'), userId: user.userId }),
      ]);
      expect(app.logs.join('\n')).not.toContain(ADMIN_PASSWORD);
    });
  });

  it('regression: an account that registered ADMIN_EMAIL first without verifying it is never promoted: the start fails naming ADMIN_EMAIL', async () => {
    const shared = await durableShared(backend);
    const email = uniqueEmail('squatter');
    const squatter = await withApp(shared, {}, (app) => signUp(app, { email }));
    const start = createTestApp(shared, { env: { ADMIN_EMAIL: email, ADMIN_PASSWORD } });
    const message = String(
      await start.then(
        () => null,
        (e: unknown) => (e instanceof Error ? e.message : e),
      ),
    );
    expect(message).toMatch(/^ADMIN_EMAIL .*not verified/);
    expect(message).toMatch(/verify .*delete .*another address/i);
    expect(message).not.toContain(ADMIN_PASSWORD);

    await withApp(shared, {}, async (app) => {
      expectCode(await login(app, email, ADMIN_PASSWORD), 'INVALID_CREDENTIALS');
      const again = await signIn(app, email, PASSWORD);
      expect(again.userId).toBe(squatter.userId);
      expect(expectOk(await me(app, again.accessToken)).me).toMatchObject({ roles: ['user'], caps: [] });
      expectCode(await app.gql(`{ users { totalCount } }`, {}, { token: again.accessToken }), 'FORBIDDEN');
      expect(await auditRows(app, { userId: squatter.userId, action: 'admin.user_updated' })).toEqual([]);
    });
  });

  it('a weak ADMIN_PASSWORD stops the start with a message naming ADMIN_PASSWORD, and creates nobody', async () => {
    const shared = await createShared(backend);
    const weak = 'qwertyuiop';
    const start = createTestApp(shared, { env: { ADMIN_EMAIL, ADMIN_PASSWORD: weak } });
    await expect(start).rejects.toThrow(/ADMIN_PASSWORD/);
    expect(String(await start.catch((e: unknown) => e))).not.toContain(weak);
    // Only the real backend's state outlives the failed start (memory:// went with it).
    if (backend === 'real') await withApp(shared, {}, async (app) => expectOk(await register(app, { email: ADMIN_EMAIL })));
  });
});

describe.runIf(backends().includes('real'))('no ADMIN_* outside the embedded default (real)', () => {
  it('the real backend announces nothing and creates no admin', async () => {
    await withApp(await createShared('real'), {}, async (app) => {
      expect(app.announced).toEqual([]);
      expectOk(await register(app, { email: 'admin@example.com' }));
      expect(await auditRows(app, { action: 'admin.user_created' })).toEqual([]);
    });
  });

  it('NODE_ENV=production never announces, not even for an ADMIN_EMAIL without a password', async () => {
    const shared = await createShared('real');
    await withApp(shared, { NODE_ENV: 'production' }, async (app) => {
      expect(app.announced).toEqual([]);
      expect(await auditRows(app, { action: 'admin.user_created' })).toEqual([]);
    });
    await withApp(shared, { NODE_ENV: 'production', ADMIN_EMAIL }, async (app) => {
      expect(app.announced).toEqual([]);
      expectCode(await login(app, ADMIN_EMAIL, ADMIN_PASSWORD), 'INVALID_CREDENTIALS');
      expect(await auditRows(app, { action: 'admin.user_created' })).toHaveLength(1);
    });
  });
});
