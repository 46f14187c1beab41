import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createShared, createTestApp, type TestApp } from './support/app.js';
import { codeOf, expectOk, login, signUp } from './support/actions.js';

/**
 * A TCP proxy on loopback in front of Postgres that can stall: paused, it keeps every
 * connection open and holds the bytes (a database that stopped answering, not one that is down).
 */
async function startStallableProxy(target: URL) {
  let paused = false;
  const held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const pipe = (from: Socket, to: Socket) =>
    from.on('data', (chunk) => {
      if (paused) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => (client.destroy(), upstream.destroy()));
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return {
    port,
    pause: () => void (paused = true),
    resume() {
      paused = false;
      for (const flush of held.splice(0)) flush();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.runIf(backends().includes('real'))('a stalled database (real)', () => {
  let app: TestApp;
  let proxy: Awaited<ReturnType<typeof startStallableProxy>>;
  beforeAll(async () => {
    const shared = await createShared('real');
    const url = new URL(shared.env.DATABASE_URL!);
    proxy = await startStallableProxy(new URL(url));
    url.host = `127.0.0.1:${proxy.port}`;
    app = await createTestApp({ ...shared, env: { ...shared.env, DATABASE_URL: url.toString() } }, { env: { REQUEST_TIMEOUT: '1s' } });
  });
  afterAll(async () => {
    proxy?.resume();
    await app?.close();
    await proxy?.close();
  });

  it('regression: login answers INTERNAL_SERVER_ERROR at the request deadline, logged with its request id, and works again once the database answers', async () => {
    const user = await signUp(app);
    expectOk(await login(app, user.email));
    proxy.pause();
    let stalled: Awaited<ReturnType<typeof login>>;
    try {
      stalled = await login(app, user.email, undefined, { 'x-request-id': 'stalled-login-1' });
    } finally {
      proxy.resume();
    }
    expect(codeOf(stalled)).toBe('INTERNAL_SERVER_ERROR');
    expect(stalled.errors?.[0]?.message).toBe('Unexpected error.');
    const logged = app.logs
      .map((line) => JSON.parse(line) as { reqId?: string; msg: string; err?: { message?: string } })
      .filter((r) => r.reqId === 'stalled-login-1' && r.msg === 'unexpected error');
    expect(logged).toEqual([expect.objectContaining({ err: expect.objectContaining({ message: 'request deadline of 1000 ms exceeded during execution' }) })]);
    // The held bytes flow again: the same pool serves the next login.
    await expect.poll(async () => codeOf(await login(app, user.email)), { timeout: 10_000 }).toBe(null);
  });
});
