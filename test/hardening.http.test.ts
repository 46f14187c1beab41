import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { CSRF_HEADER } from '../src/graphql/plugins/use-csrf.js';
import { backends, type TestApp, useTestApp } from './support/app.js';
import { codeOf, expectOk, login, me, PASSWORD, signUp, uniqueEmail } from './support/actions.js';

const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { user { id } } }';

type Body = { data?: unknown; errors?: Array<{ message: string; extensions: Record<string, unknown> }> };

function setup(app: () => TestApp) {
  const send = async (init: RequestInit, path = '/graphql') => {
    const response = await app().fetch(path, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: (text ? JSON.parse(text) : {}) as Body };
  };
  /** A sign-up sent the way a cross-site page could send it; the account must not exist afterwards. */
  const registerBody = (email: string) => JSON.stringify({ query: REGISTER, variables: { input: { email, password: PASSWORD } } });
  const accountExists = async (email: string) => codeOf(await login(app(), email)) === null;
  /** Regression (issue 12): 400 in development, 200 in production, and the body echoed twice. */
  const expectNotJsonRefused = async () => {
    const body = 'hello {"query": "{ me { id } }", "secret": "s3cr3t-value"';
    for (const accept of [undefined, 'application/json', 'application/graphql-response+json']) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(accept ? { accept } : {}) };
      const response = await send({ method: 'POST', headers, body });
      expect(response.status, String(accept)).toBe(400);
      expect(response.body.errors?.map((e) => [e.message, e.extensions.code])).toEqual([['POST body sent invalid JSON.', 'BAD_USER_INPUT']]);
      expect(response.text).not.toContain('s3cr3t-value');
    }
  };
  return { send, registerBody, accountExists, expectNotJsonRefused };
}

describe.each(backends())('HTTP hardening (%s)', (backend) => {
  const app = useTestApp(backend);
  const { send, registerBody, accountExists, expectNotJsonRefused } = setup(() => app);

  it('regression: a body that is not JSON answers 400 BAD_USER_INPUT for every Accept, without echoing the body', async () => {
    await expectNotJsonRefused();
  });

  it('a plain JSON POST with a bearer token needs no extra header', async () => {
    const user = await signUp(app);
    const response = await send({
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` },
      body: JSON.stringify({ query: '{ me { email } }' }),
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { me: { email: user.email } } });
  });

  it('CSRF: a text/plain POST is refused and runs nothing', async () => {
    const email = uniqueEmail('csrf');
    const response = await send({ method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: registerBody(email) });
    expect(response.status).toBe(403);
    expect(response.body.errors?.map((e) => [e.message, e.extensions.code])).toEqual([['Required CSRF header(s) not present', 'BAD_USER_INPUT']]);
    expect(await accountExists(email)).toBe(false);
    // With the header it is no longer a CSRF matter, but text/plain is still no GraphQL request.
    const marked = await send({ method: 'POST', headers: { 'content-type': 'text/plain', [CSRF_HEADER]: '1' }, body: registerBody(email) });
    expect(marked.status).toBe(415);
    expect(await accountExists(email)).toBe(false);
  });

  it('CSRF: a cross-site form post (urlencoded or multipart) is refused and runs nothing', async () => {
    const email = uniqueEmail('csrf');
    const form = new URLSearchParams({ query: REGISTER, variables: JSON.stringify({ input: { email, password: PASSWORD } }) });
    const urlencoded = await send({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    expect(urlencoded.status).toBe(403);
    const multipart = new FormData();
    multipart.set('operations', registerBody(email));
    expect((await send({ method: 'POST', body: multipart })).status).toBe(403);
    // No file uploads: multipart is refused even from script.
    expect((await send({ method: 'POST', headers: { [CSRF_HEADER]: '1' }, body: multipart })).status).toBe(415);
    expect(await accountExists(email)).toBe(false);
  });

  it('CSRF: a GET query needs the header (an <img> or link cannot set it)', async () => {
    const refused = await send({ method: 'GET' }, '/graphql?query=%7B__typename%7D');
    expect(refused.status).toBe(403);
    const marked = await send({ method: 'GET', headers: { [CSRF_HEADER]: '1' } }, '/graphql?query=%7B__typename%7D');
    expect(marked.status).toBe(200);
    expect(marked.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('a mutation over GET is refused with 405, header or not', async () => {
    const email = uniqueEmail('get');
    const query = new URLSearchParams({ query: REGISTER, variables: JSON.stringify({ input: { email, password: PASSWORD } }) });
    const response = await send({ method: 'GET', headers: { [CSRF_HEADER]: '1' } }, `/graphql?${query}`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.body.errors?.map((e) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
    expect((await send({ method: 'GET' }, `/graphql?${query}`)).status).toBe(403);
    expect(await accountExists(email)).toBe(false);
  });

  it('batching is off: a JSON array of operations is refused and none runs', async () => {
    const emails = [uniqueEmail('batch'), uniqueEmail('batch')];
    const response = await send({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `[${emails.map(registerBody).join(',')}]`,
    });
    expect(response.status).toBe(400);
    expect(response.body.errors?.map((e) => [e.message, e.extensions.code])).toEqual([['Batching is not supported.', 'BAD_USER_INPUT']]);
    for (const email of emails) expect(await accountExists(email)).toBe(false);
  });

  it('a body over REQUEST_BODY_LIMIT (100 KiB) gets 413, whether announced or streamed', async () => {
    const limit = app.deps.config.abuse.requestBodyLimit;
    expect(limit).toBe(100 * 1024);
    const bodyOf = (size: number) => {
      const base = JSON.stringify({ query: '{ __typename }', variables: { pad: '' } });
      return JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(size - base.length) } });
    };
    const json = { 'content-type': 'application/json' };
    expect((await send({ method: 'POST', headers: json, body: bodyOf(limit) })).body).toEqual({ data: { __typename: 'Query' } });
    const announced = await send({ method: 'POST', headers: json, body: bodyOf(limit + 1) });
    expect(announced.status).toBe(413);
    expect(announced.body.errors?.map((e) => [e.message, e.extensions.code])).toEqual([['Request body too large', 'BAD_USER_INPUT']]);
    // Without a Content-Length (chunked), the body is counted as it arrives.
    const bytes = new TextEncoder().encode(bodyOf(limit + 1));
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.subarray(i, i + 8192));
        controller.close();
      },
    });
    const streamed = await send({ method: 'POST', headers: json, body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  let listening: Promise<string> | undefined;
  const wsUrl = () => (listening ??= app.listen().then((url) => url.replace(/^http/, 'ws')));

  it('a WebSocket message over REQUEST_BODY_LIMIT closes the connection (1009)', async () => {
    const url = await wsUrl();
    const socket = new WebSocket(url, 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(app.deps.config.abuse.requestBodyLimit) } }));
    expect(await closed).toBe(1009);
  });

  it('regression: a WebSocket message over the limit is logged once as a warning, not printed to stderr with a stack', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const url = await wsUrl();
      const socket = new WebSocket(url, 'graphql-transport-ws');
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      const before = app.logs.length;
      socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(app.deps.config.abuse.requestBodyLimit) } }));
      expect(await closed).toBe(1009);
      await vi.waitFor(() => expect(app.logs.length).toBeGreaterThan(before));
      const warnings = app.logs
        .slice(before)
        .map((l) => JSON.parse(l))
        .filter((l) => l.msg === 'websocket connection error');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 40, err: { type: 'RangeError', message: 'Max payload size exceeded' } });
      expect(warnings[0].err.stack).toBeUndefined();
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
    }
  });
});

describe.runIf(backends().includes('real'))('no error details in production (real)', () => {
  const app = useTestApp('real', { env: { NODE_ENV: 'production' } });
  const { send, expectNotJsonRefused } = setup(() => app);

  it('regression: a body that is not JSON answers 400 here too (it was 200), without echoing the body', async () => {
    await expectNotJsonRefused();
  });

  /** Every key of a JSON value, at any depth. */
  const keysOf = (value: unknown): string[] => (value && typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]) : []);

  it('no stack trace, exception or original error in any error', async () => {
    const user = await signUp(app);
    const json = { 'content-type': 'application/json' };
    const post = (query: string, headers: Record<string, string> = {}) => ({
      method: 'POST',
      headers: { ...json, ...headers },
      body: JSON.stringify({ query }),
    });
    const secret = 'postgres://gateway:hunter2@db.internal/app';
    const { tokens, store } = app.deps;
    const [verify, listByUser] = [tokens.verify, store.sessions.listByUser];
    const responses = [
      await send(post('{ me { id } ')), // parse
      await send(post('{ mee }')), // validation
      await send(post('{ me { id } }')), // UNAUTHENTICATED
      await send({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }), // CSRF
      await send({ method: 'POST', headers: json, body: '[]' }), // batch
      await send({ method: 'POST', headers: json, body: '{"query":' }), // bad JSON
      await send({ method: 'POST', headers: json, body: JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(200_000) } }) }), // 413
      await send({ method: 'GET', headers: { [CSRF_HEADER]: '1' } }, '/graphql?query=mutation%7Blogout%7D'), // 405
    ];
    try {
      // An infrastructure failure while building the context, and one inside a resolver.
      tokens.verify = () => Promise.reject(new Error(`cannot reach ${secret}`));
      const inContext = await send(post('{ me { id } }', { authorization: `Bearer ${user.accessToken}` }));
      tokens.verify = verify;
      store.sessions.listByUser = () => Promise.reject(new Error(`cannot reach ${secret}`));
      const inResolver = await send(post('{ mySessions { id } }', { authorization: `Bearer ${user.accessToken}` }));
      for (const masked of [inContext, inResolver]) {
        expect(masked.body.errors?.map((e) => [e.message, e.extensions.code])).toEqual([['Unexpected error.', 'INTERNAL_SERVER_ERROR']]);
      }
      responses.push(inContext, inResolver);
    } finally {
      tokens.verify = verify;
      store.sessions.listByUser = listByUser;
    }
    for (const response of responses) {
      expect(response.body.errors?.length, response.text).toBeGreaterThan(0);
      expect(keysOf(response.body), response.text).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^(stack|stacktrace|exception|originalError)$/i)]),
      );
      expect(response.text).not.toMatch(/\n\s+at |hunter2|\.ts:\d|node_modules/);
      for (const error of response.body.errors!)
        expect(error.extensions.code, response.text).toMatch(/^(BAD_USER_INPUT|UNAUTHENTICATED|INTERNAL_SERVER_ERROR)$/);
    }
    expectOk(await me(app, user.accessToken));
  });
});
