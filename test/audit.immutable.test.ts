import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectOk, login, signUp } from './support/actions.js';
import { grantAdmin, waitForSubscribers, wsClient } from './support/audit.js';

const OWN_EVENTS = `query($a: [String!]) { auditLogs(filter: { actions: $a }, first: 5) { nodes { action requestId } } }`;

describe.each(backends())('audit trail: append-only, with request ids (%s)', (backend) => {
  const app = useTestApp(backend);
  let url: string;
  beforeAll(async () => {
    url = await app.listen();
  });

  /** The message of the error a statement fails with, run on the service's own database handle. */
  const refusal = (statement: ReturnType<typeof sql>) =>
    app.deps.db.execute(statement).then(
      () => 'succeeded',
      (error: Error & { cause?: Error }) => error.cause?.message ?? error.message,
    );

  it("regression: UPDATE, DELETE and TRUNCATE of audit_events fail for the service's own database role", async () => {
    const user = await signUp(app);
    const before = await auditRows(app, { userId: user.userId });
    expect(before.map((r) => r.action)).toEqual(['user.registered']);
    expect(await refusal(sql`update audit_events set action = 'user.nothing' where user_id = ${user.userId}`)).toMatch(/append-only: UPDATE refused/);
    expect(await refusal(sql`delete from audit_events where user_id = ${user.userId}`)).toMatch(/append-only: DELETE refused/);
    expect(await refusal(sql`truncate audit_events`)).toMatch(/append-only: TRUNCATE refused/);
    expect(await auditRows(app, { userId: user.userId })).toEqual(before);
    // Inserting goes on as before: the trail only grows.
    await login(app, user.email);
    expect((await auditRows(app, { userId: user.userId })).map((r) => r.action)).toEqual(['user.registered', 'user.login']);
  });

  it.runIf(backend === 'real')('regression: a separate connection with the DATABASE_URL cannot change audit rows either', async () => {
    const client = postgres(app.deps.config.databaseUrl!, { max: 1, onnotice: () => {} });
    try {
      await expect(client`update audit_events set ip = '198.51.100.1'`).rejects.toThrow(/append-only/);
      await expect(client`delete from audit_events`).rejects.toThrow(/append-only/);
      await expect(client`truncate audit_events`).rejects.toThrow(/append-only/);
    } finally {
      await client.end();
    }
  });

  it('regression: every audit row carries the request id its response sent in x-request-id, given or generated', async () => {
    const user = await signUp(app);
    const given = await login(app, user.email, undefined, { 'x-request-id': 'req-login.42' });
    expect(given.headers.get('x-request-id')).toBe('req-login.42');
    app.clock.advance(1000);
    const generated = await login(app, user.email, 'wrong password');
    const generatedId = generated.headers.get('x-request-id');
    expect(generatedId).toMatch(/^[0-9a-f-]{36}$/);
    const token = expectOk(given).login.accessToken as string;
    const page = expectOk(await app.gql(OWN_EVENTS, { a: ['user.login', 'user.login_failed'] }, { token }));
    expect(page.auditLogs.nodes).toEqual([
      { action: 'user.login_failed', requestId: generatedId },
      { action: 'user.login', requestId: 'req-login.42' },
    ]);
  });

  it('the live auditEvents event carries the request id too', async () => {
    const admin = await signUp(app);
    await grantAdmin(app, admin.userId);
    const client = wsClient(url, admin.accessToken);
    const events: Array<{ action: string; userId: string; requestId: string | null }> = [];
    const stop = client.subscribe(
      { query: 'subscription { auditEvents(filter: { actions: ["user.login"] }) { action userId requestId } }' },
      { next: (r) => void events.push((r.data as { auditEvents: (typeof events)[number] }).auditEvents), error: () => {}, complete: () => {} },
    );
    try {
      await waitForSubscribers(app, 1);
      const user = await signUp(app);
      await login(app, user.email, undefined, { 'x-request-id': 'req-live-7' });
      await expect
        .poll(() => events.filter((e) => e.userId === user.userId), { timeout: 5_000 })
        .toEqual([{ action: 'user.login', userId: user.userId, requestId: 'req-live-7' }]);
    } finally {
      stop();
      await client.dispose();
      await waitForSubscribers(app, 0);
    }
  });
});
