import { DrizzleQueryError } from 'drizzle-orm/errors';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditEvents } from '../src/modules/audit/tables.js';
import { sanitizeMetadata } from '../src/modules/audit/service.js';
import { users } from '../src/modules/users/tables.js';
import { sha256 } from '../src/shared/crypto.js';
import { createLogger, serializeError } from '../src/shared/logger.js';
import { backends, type GqlResult, type TestApp, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, login, refresh, signIn, signUp, uniqueEmail } from './support/actions.js';

type Issued = { accessToken: string; refreshToken: string };

/** Every form in which a token could leak: whole, its signature or random half, and its stored hash. */
function tokenSecrets(label: string, t: Issued): Array<[string, string]> {
  return [
    [`${label} access token`, t.accessToken],
    [`${label} access token signature`, t.accessToken.split('.')[2]!],
    [`${label} refresh token`, t.refreshToken],
    [`${label} refresh token random part`, t.refreshToken.split('.')[1]!],
    [`${label} refresh token sha256`, sha256(t.refreshToken)],
  ];
}

/** Login with the credentials written into the query text, as a careless client would. */
function inlineLogin(app: TestApp, email: string, password: string) {
  return app.gql(`mutation { login(input: { email: ${JSON.stringify(email)}, password: ${JSON.stringify(password)} }) { accessToken refreshToken } }`);
}

describe.each(backends())('secrets stay out of logs and the audit trail (%s)', (backend) => {
  const app = useTestApp(backend);

  const gql = (query: string, variables: Record<string, unknown>, token: string) => app.gql(query, variables, { token });
  async function passwordHashOf(userId: string) {
    const [row] = await app.deps.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, userId));
    return row!.hash!;
  }

  it('a whole account lifecycle writes no password, token or hash to the logs or to audit metadata', async () => {
    const email = uniqueEmail('secrets');
    const pw = {
      first: 'Initial-Quokka-Passphrase-7741',
      wrong: 'Wrong-Pelican-Guess-5520',
      second: 'Changed-Narwhal-Passphrase-8852',
      inlineWrong: 'Inline-Wrong-Literal-3307',
    };
    const secrets: Array<[string, string]> = Object.entries(pw).map(([k, v]) => [`password ${k}`, v]);

    const registered = await signUp(app, { email, password: pw.first });
    const hashes = [await passwordHashOf(registered.userId)];
    expectCode(await login(app, email, pw.wrong), 'INVALID_CREDENTIALS');
    const second = await signIn(app, email, pw.first);
    const refreshed: Issued = expectOk(await refresh(app, second.refreshToken)).refreshToken;
    const change = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`;
    expectOk(await gql(change, { c: pw.first, n: pw.second }, refreshed.accessToken));
    hashes.push(await passwordHashOf(registered.userId));
    expectOk(
      await gql(
        `mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { id } }`,
        { i: { name: 'Keeper', bio: 'Keeps secrets' } },
        refreshed.accessToken,
      ),
    );
    expectCode(await inlineLogin(app, email, pw.inlineWrong), 'INVALID_CREDENTIALS');
    const inline: Issued = expectOk(await inlineLogin(app, email, pw.second)).login;
    expectOk(await gql(`mutation { logout }`, {}, refreshed.accessToken));
    expectOk(await gql(`mutation($p: String!) { deleteAccount(password: $p) }`, { p: pw.second }, inline.accessToken));

    expect(hashes[0]).not.toBe(hashes[1]);
    secrets.push(
      ...hashes.map((h, i): [string, string] => [`password hash ${i}`, h]),
      ...hashes.map((h, i): [string, string] => [`password hash ${i} digest`, h.split('$').pop()!]),
      ...tokenSecrets('register', registered),
      ...tokenSecrets('login', second),
      ...tokenSecrets('refresh', refreshed),
      ...tokenSecrets('inline login', inline),
    );

    const logs = app.logs.join('\n');
    const rows = await app.deps.db.select().from(auditEvents);
    const metadata = rows.map((r) => JSON.stringify(r.metadata)).join('\n');
    // The haystacks really hold this flow, so an empty capture cannot pass for a clean one.
    expect(logs).toContain(registered.userId);
    expect(logs).toContain('"msg":"request"');
    const actions = (await auditRows(app, { userId: registered.userId })).map((r) => r.action);
    expect(new Set(actions)).toEqual(
      new Set(['user.registered', 'user.login_failed', 'user.login', 'password.changed', 'user.updated', 'user.logout', 'user.deleted']),
    );
    for (const [label, secret] of secrets) {
      expect(secret.length, label).toBeGreaterThanOrEqual(16);
      expect(logs.includes(secret), `logs hold the ${label}`).toBe(false);
      expect(metadata.includes(secret), `audit metadata holds the ${label}`).toBe(false);
    }
  });

  it('an unexpected error in a request carrying an inline password literal logs neither', async () => {
    const password = 'Inline-Literal-Owl-Passphrase-4410';
    const user = await signUp(app, { password });
    const create = app.deps.store.sessions.create;
    app.deps.store.sessions.create = async () => {
      throw new Error('store unavailable');
    };
    const from = app.logs.length;
    try {
      expectCode(await inlineLogin(app, user.email, password), 'INTERNAL_SERVER_ERROR');
    } finally {
      app.deps.store.sessions.create = create;
    }
    const logs = app.logs.slice(from).join('\n');
    expect(logs).toContain('store unavailable');
    expect(logs).not.toContain(password);
    expect(logs).not.toContain('mutation {');
  });

  it('masks an unexpected error as INTERNAL_SERVER_ERROR and logs it once with the request id', async () => {
    const user = await signUp(app);
    const listByUser = app.deps.store.sessions.listByUser;
    app.deps.store.sessions.listByUser = async () => {
      throw new Error('db exploded with secret s3cr3t');
    };
    const from = app.logs.length;
    let result: GqlResult;
    try {
      result = await app.gql(`{ mySessions { id } }`, {}, { token: user.accessToken, headers: { 'x-request-id': 'req-test-123' } });
    } finally {
      app.deps.store.sessions.listByUser = listByUser;
    }
    expectCode(result, 'INTERNAL_SERVER_ERROR');
    const error = result.errors![0]!;
    expect(error.message).not.toContain('s3cr3t');
    expect(JSON.stringify(result.errors)).not.toContain('s3cr3t');
    expect(error.extensions).not.toHaveProperty('stack');
    expect(error.extensions).not.toHaveProperty('exception');
    expect(result.headers.get('x-request-id')).toBe('req-test-123');

    const unexpected = app.logs
      .slice(from)
      .map((line) => JSON.parse(line) as Record<string, any>)
      .filter((entry) => entry.msg === 'unexpected error');
    expect(unexpected).toHaveLength(1);
    expect(unexpected[0]).toMatchObject({ reqId: 'req-test-123', path: 'mySessions', err: { message: 'db exploded with secret s3cr3t' } });
    // The error is not permanent: with the store restored the same query answers.
    expectOk(await app.gql(`{ mySessions { id } }`, {}, { token: user.accessToken }));
  });

  it('serializeError keeps a password hash out of a real driver error (detail: "Failing row contains ...")', async () => {
    const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$secretdigest';
    const error = await app.deps.db
      .insert(users)
      .values({ email: sql`null`, passwordHash: hash } as unknown as typeof users.$inferInsert)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Error);
    const text = JSON.stringify(serializeError(error));
    expect(text).toContain('violates not-null constraint');
    expect(text).not.toContain('secretdigest');
  });
});

describe('serializeError', () => {
  const SECRET = '$argon2id$v=19$secret';
  const queryError = () =>
    new DrizzleQueryError(
      'update "users" set "password_hash" = $1 where "users"."id" = $2',
      ['8c1f0d1e-0000-4000-8000-000000000000', SECRET],
      Object.assign(new Error('canceling statement due to statement timeout'), { parameters: [SECRET], args: [SECRET] }),
    );

  it('drops the bound parameters of a failed drizzle query but keeps what explains it', () => {
    const error = queryError();
    expect(error.message).toContain(SECRET);
    const out = serializeError(error) as Record<string, any>;
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(out.message).toContain('Failed query: update "users"');
    expect(out.message).toContain('params: [redacted]');
    expect(out.stack).toMatch(/\n {4}at /);
    expect(out.cause.message).toBe('canceling statement due to statement timeout');
  });

  it('drops them when the query error is the cause of another error', () => {
    const out = serializeError(new Error('transaction failed', { cause: queryError() }));
    const text = JSON.stringify(out);
    expect(text).not.toContain(SECRET);
    expect(text).toContain('transaction failed');
    expect(text).toContain('Failed query');
  });

  it('drops them from a line written by the app logger', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    logger.error({ err: queryError() }, 'unexpected error');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET);
    expect(lines[0]).toContain('Failed query');
  });
});

describe('sanitizeMetadata', () => {
  it('drops password, newPassword, token, refreshToken, code, secret and passwordHash at every depth and keeps the rest', () => {
    const secretKeys = { password: 'p', newPassword: 'n', token: 't', refreshToken: 'r', code: '123456', secret: 's', passwordHash: 'h' };
    const at = new Date('2024-01-01T00:00:00Z');
    const input = {
      ...secretKeys,
      email: 'a@example.com',
      at,
      nested: { ...secretKeys, reason: 'wrong_password', deeper: { ...secretKeys, sessionId: 'sid', list: [{ ...secretKeys, ok: true }, 'plain', 3] } },
      items: [{ ...secretKeys, fields: ['name', 'bio'] }, [{ ...secretKeys, method: 'password' }]],
    };
    const copy = structuredClone(input);
    expect(sanitizeMetadata(input)).toEqual({
      email: 'a@example.com',
      at,
      nested: { reason: 'wrong_password', deeper: { sessionId: 'sid', list: [{ ok: true }, 'plain', 3] } },
      items: [{ fields: ['name', 'bio'] }, [{ method: 'password' }]],
    });
    expect(input).toEqual(copy);
  });
});
