import { randomUUID } from 'node:crypto';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { closeDeps } from '../src/deps.js';
import { backends, useInstances, createShared, createTestApp, type TestApp, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, login, logout, me, PASSWORD, refresh, signIn, signUp, type Tokens } from './support/actions.js';

const SESSION_FIELDS = 'id current ip userAgent createdAt lastSeenAt expiresAt';
const sessionOf = (t: Tokens) => t.refreshToken.split('.')[0]!;

function setup(app: () => TestApp) {
  const mySessions = (token?: string) => app().gql(`{ mySessions { ${SESSION_FIELDS} } }`, {}, { token });
  const revokeSession = (id: string, token?: string) => app().gql('mutation($id: ID!) { revokeSession(id: $id) }', { id }, { token });
  const expectSignedIn = async (t: Tokens) => expect(expectOk(await me(app(), t.accessToken)).me.id).toBe(t.userId);
  /** Asserts that a session is over: its access token and its refresh token are both refused. */
  const expectEnded = async (t: Tokens) => {
    expectCode(await me(app(), t.accessToken), 'UNAUTHENTICATED');
    expectCode(await refresh(app(), t.refreshToken), 'INVALID_TOKEN');
  };
  return { mySessions, revokeSession, expectSignedIn, expectEnded };
}

/** Runs one operation over a graphql-ws connection; an `error` message counts as a result with errors. */
function execute(client: Client, query: string): Promise<FormattedExecutionResult<Record<string, unknown>, unknown>> {
  return new Promise((resolve, reject) => {
    let result: FormattedExecutionResult<Record<string, unknown>, unknown> | undefined;
    client.subscribe(
      { query },
      {
        next: (value) => void (result = value),
        error: (error) => (Array.isArray(error) ? resolve({ errors: error as FormattedExecutionResult['errors'] }) : reject(error)),
        complete: () => (result ? resolve(result) : reject(new Error('completed without a result'))),
      },
    );
  });
}

const wsClient = (url: string, token: string, options: { onNonLazyError?: (error: unknown) => void } = {}) =>
  createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    ...options,
  });

describe.each(backends())('sessions (%s)', (backend) => {
  const app = useTestApp(backend);
  let url: string;
  beforeAll(async () => {
    url = await app.listen();
  });
  const { mySessions, revokeSession, expectSignedIn, expectEnded } = setup(() => app);

  it('logout ends the session at once: its access and refresh tokens are refused, other sessions live on', async () => {
    const user = await signUp(app);
    const other = await signIn(app, user.email);
    await expectSignedIn(user);
    expect(expectOk(await logout(app, user.accessToken)).logout).toBe(true);
    await expectEnded(user);
    await expectSignedIn(other);
    expect(await auditRows(app, { userId: user.userId, action: 'user.logout' })).toHaveLength(1);
  });

  it("logout with allSessions ends every session of the user and no one else's", async () => {
    const user = await signUp(app);
    const sessions = [user, await signIn(app, user.email), await signIn(app, user.email), await signIn(app, user.email)];
    const stranger = await signUp(app);
    expect(expectOk(await logout(app, sessions[2]!.accessToken, true)).logout).toBe(true);
    for (const session of sessions) await expectEnded(session);
    await expectSignedIn(stranger);
    expect(expectOk(await mySessions(stranger.accessToken)).mySessions).toHaveLength(1);
  });

  it('mySessions lists every live session, exactly one current, with ip, user agent and times', async () => {
    const user = await signUp(app);
    const ended = await signIn(app, user.email);
    expectOk(await logout(app, ended.accessToken));
    const createdAt = new Date(app.clock.now()).toISOString();
    // In process there is no peer address, and a client's X-Forwarded-For is not believed (TRUST_PROXY=false).
    const headers = { 'user-agent': 'TestBrowser/1.0 (in-process)', 'x-forwarded-for': '203.0.113.9' };
    const inProcess = expectOk(await login(app, user.email, PASSWORD, headers)).login;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'TestBrowser/2.0 (over TCP)' },
      body: JSON.stringify({
        query: 'mutation($i: LoginInput!) { login(input: $i) { refreshToken } }',
        variables: { i: { email: user.email, password: PASSWORD } },
      }),
    });
    const overTcp = ((await response.json()) as { data: { login: { refreshToken: string } } }).data.login.refreshToken.split('.')[0]!;
    const caller = sessionOf({ ...user, refreshToken: inProcess.refreshToken });

    const list = expectOk(await mySessions(inProcess.accessToken)).mySessions as Array<Record<string, unknown>>;
    expect(list.map((s) => s.id).sort()).toEqual([sessionOf(user), caller, overTcp].sort());
    expect(list.filter((s) => s.current)).toEqual([expect.objectContaining({ id: caller })]);
    expect(list.find((s) => s.id === caller)).toMatchObject({ ip: null, userAgent: headers['user-agent'] });
    expect(list.find((s) => s.id === overTcp)).toMatchObject({ ip: '127.0.0.1', userAgent: 'TestBrowser/2.0 (over TCP)' });
    for (const s of list) expect(s).toMatchObject({ createdAt, lastSeenAt: createdAt });

    app.clock.advance(61_000);
    await expectSignedIn(user);
    // lastSeenAt is written best effort, after the request that saw the activity.
    const mine = async () => (expectOk(await mySessions(user.accessToken)).mySessions as Array<Record<string, unknown>>).find((s) => s.current);
    await expect.poll(mine).toMatchObject({ id: sessionOf(user), createdAt, lastSeenAt: new Date(app.clock.now()).toISOString() });
  });

  it('revokeSession ends one of my other sessions and records session.revoked', async () => {
    const user = await signUp(app);
    const other = await signIn(app, user.email);
    expect(expectOk(await revokeSession(sessionOf(other), user.accessToken)).revokeSession).toBe(true);
    await expectEnded(other);
    await expectSignedIn(user);
    const ids = (expectOk(await mySessions(user.accessToken)).mySessions as Array<{ id: string }>).map((s) => s.id);
    expect(ids).toEqual([sessionOf(user)]);
    const rows = await auditRows(app, { userId: user.userId, action: 'session.revoked' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'SUCCESS', metadata: { sessionId: sessionOf(other) } });
  });

  it("answers NOT_FOUND, identically, for another user's session and an unknown id, and leaves the session alone", async () => {
    const user = await signUp(app);
    const victim = await signUp(app);
    const foreign = await revokeSession(sessionOf(victim), user.accessToken);
    const unknown = await revokeSession(randomUUID(), user.accessToken);
    expectCode(foreign, 'NOT_FOUND');
    expectCode(unknown, 'NOT_FOUND');
    expect(foreign.errors![0]!.message).toBe(unknown.errors![0]!.message);
    await expectSignedIn(victim);
    expectOk(await refresh(app, victim.refreshToken));
    expect(await auditRows(app, { userId: victim.userId, action: 'session.revoked' })).toHaveLength(0);
  });

  it('answers UNAUTHENTICATED to mySessions, revokeSession and logout without a token or with a garbage one', async () => {
    const user = await signUp(app);
    for (const token of [undefined, 'garbage', 'a.b.c', `${user.accessToken}x`]) {
      expectCode(await mySessions(token), 'UNAUTHENTICATED');
      expectCode(await revokeSession(sessionOf(user), token), 'UNAUTHENTICATED');
      expectCode(await app.gql('mutation { logout }', {}, { token }), 'UNAUTHENTICATED');
    }
    await expectSignedIn(user);
    expect(expectOk(await mySessions(user.accessToken)).mySessions).toHaveLength(1);
  });

  it('WebSocket: an operation after logout on the same connection answers UNAUTHENTICATED', async () => {
    const user = await signUp(app);
    const client = wsClient(url, user.accessToken);
    let connections = 0;
    client.on('connected', () => void connections++);
    try {
      expect(await execute(client, '{ me { email } }')).toEqual({ data: { me: { email: user.email } } });
      expectOk(await logout(app, user.accessToken));
      const after = await execute(client, '{ me { email } }');
      expect(after.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      expect(connections).toBe(1);
    } finally {
      await client.dispose();
    }
  });

  it('graceful shutdown closes WebSocket clients with 1001', async () => {
    const other = await createTestApp(await createShared(backend));
    try {
      const user = await signUp(other);
      // The server closing the connection is the point here, not an error to print.
      const client = wsClient(await other.listen(), user.accessToken, { onNonLazyError: () => undefined });
      await new Promise((resolve) => client.on('connected', resolve));
      const closed = new Promise<{ code: number }>((resolve) => client.on('closed', (event) => resolve(event as { code: number })));
      await other.app.stop();
      expect((await closed).code).toBe(1001);
      await client.dispose();
    } finally {
      await closeDeps(other.deps);
    }
  });
});

describe.runIf(backends().includes('real'))('sessions across instances (real)', () => {
  let a: TestApp;
  let b: TestApp;
  useInstances((first, second) => ([a, b] = [first, second]));

  it('refuses a token on B right after logout on A, and the other way round', async () => {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const user = await signUp(from);
      expect(expectOk(await me(to, user.accessToken)).me.id).toBe(user.userId);
      expectOk(await logout(from, user.accessToken));
      expectCode(await me(to, user.accessToken), 'UNAUTHENTICATED');
      expectCode(await refresh(to, user.refreshToken), 'INVALID_TOKEN');
    }
  });

  it('lists on B a session created on A', async () => {
    const user = await signUp(a);
    const second = await signIn(b, user.email);
    const list = expectOk(await b.gql(`{ mySessions { ${SESSION_FIELDS} } }`, {}, { token: user.accessToken })).mySessions as Array<{
      id: string;
      current: boolean;
    }>;
    expect(list.map((s) => s.id).sort()).toEqual([sessionOf(user), sessionOf(second)].sort());
    expect(list.find((s) => s.current)?.id).toBe(sessionOf(user));
  });
});
