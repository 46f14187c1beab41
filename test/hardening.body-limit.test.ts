import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';

type Answer = { status: number; text: string };

/** One POST over a real socket: with `chunked`, no Content-Length (Transfer-Encoding: chunked). */
function post(url: string, body: string, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = String(Buffer.byteLength(body));
    const req = request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (chunked) for (let i = 0; i < body.length; i += 8192) req.write(body.slice(i, i + 8192));
    else req.write(body);
    req.end();
  });
}

/** Raw bytes on a socket: a Content-Length that understates the body that follows it. */
function rawExchange(url: string, head: string, body: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(head + body));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(text) : reject(error)));
    socket.on('close', () => resolve(text));
  });
}

const bodyOf = (size: number) => {
  const base = JSON.stringify({ query: '{ __typename }', variables: { pad: '' } });
  return JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(size - base.length) } });
};

/**
 * REQUEST_BODY_LIMIT over a real socket. A body with a Content-Length within the limit is no
 * longer piped through a counting stream (useBodyLimit): node:http reads exactly that many bytes.
 */
describe.each(backends())('request body limit over HTTP (%s)', (backend) => {
  const app = useTestApp(backend);

  it('holds over a socket: 413 past it whether announced or chunked, and an understated Content-Length reads no more than it says', async () => {
    const url = await app.listen();
    const limit = app.deps.config.abuse.requestBodyLimit;
    const ok = await post(url, bodyOf(limit));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ data: { __typename: 'Query' } });
    expect((await post(url, bodyOf(limit + 1))).status).toBe(413);
    expect((await post(url, bodyOf(limit + 1), true)).status).toBe(413);
    expect((await post(url, bodyOf(limit), true)).status).toBe(200);

    // 20 bytes announced, 200 KB sent: the first request's body is those 20 bytes (not JSON: 400),
    // and the rest is not a request at all (node:http answers 400 and closes).
    const huge = bodyOf(2 * limit);
    const head = `POST /graphql HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n`;
    const answer = await rawExchange(url, head, huge);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).not.toContain('"__typename"');
  });
});
