import { describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { expectOk, signUp } from './support/actions.js';

describe.each(backends())('plain HTTP routes and protocol (%s)', (backend) => {
  const app = useTestApp(backend);

  it('GET /healthz answers while the process is up', async () => {
    const response = await app.fetch('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz checks the database and the store', async () => {
    const ok = await app.fetch('/readyz');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok', database: 'ok', store: 'ok' });
    const ping = app.deps.store.ping;
    app.deps.store.ping = () => Promise.reject(new Error('store down'));
    try {
      const down = await app.fetch('/readyz');
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: 'unavailable', database: 'ok', store: 'unavailable' });
    } finally {
      app.deps.store.ping = ping;
    }
  });

  it('GET /.well-known/jwks.json publishes public keys only', async () => {
    const response = await app.fetch('/.well-known/jwks.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toContain('max-age');
    const { keys } = (await response.json()) as { keys: Array<Record<string, string>> };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(key.d).toBeUndefined();
    }
  });

  it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
    const given = await app.fetch('/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const unsafe = await app.fetch('/healthz', { headers: { 'x-request-id': 'bad id\nwith newline'.replace('\n', ' ') } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves GraphiQL in development', async () => {
    const response = await app.fetch('/graphql', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('GraphiQL');
  });

  it('regression: GraphiQL loads nothing from another host (works offline) and opens with register/login and the Authorization hint', async () => {
    const response = await app.fetch('/graphql', { headers: { accept: 'text/html' } });
    const html = await response.text();
    // Yoga's default page loaded its script and stylesheet from unpkg.com at run time.
    const external = [...html.matchAll(/<(?:script|link|img)\b[^>]*\s(?:src|href)="((?:https?:)?\/\/[^"]*)"/g)].map((m) => m[1]);
    expect(external).toEqual([]);
    expect(html).not.toContain('unpkg.com');
    expect(html).toContain('mutation Register');
    expect(html).toContain('mutation Login');
    expect(html).toContain('Authorization');
  });

  it('answers malformed operations with BAD_USER_INPUT, never a masked error', async () => {
    const unknown = await app.gql('{ nope }');
    expect(unknown.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    const unparsable = await app.gql('{ me { ');
    expect(unparsable.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(unknown.errors?.[0]?.message).toContain('nope');
    const badVariable = await app.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { email: 1 } });
    expect(badVariable.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('exposes the error codes as an enum for client code generation', async () => {
    const result = expectOk(await app.gql('{ __type(name: "ErrorCode") { enumValues { name } } }'));
    const names = result.__type.enumValues.map((v: { name: string }) => v.name);
    expect(names).toEqual(expect.arrayContaining(['UNAUTHENTICATED', 'FORBIDDEN', 'INVALID_CREDENTIALS', 'RATE_LIMITED', 'INTERNAL_SERVER_ERROR']));
  });

  it('logs one line per request with method, path, status and id, and never the body', async () => {
    const user = await signUp(app);
    const line = app.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.path === '/graphql');
    expect(line).toMatchObject({ method: 'POST', status: 200, reqId: expect.any(String) });
    expect(app.logs.join('\n')).not.toContain(user.email);
  });

  it('logs the path of a request without its query string', async () => {
    const response = await app.fetch('/readyz?probe=query-string-value');
    expect(response.status).toBe(200);
    const lines = app.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(lines.find((l) => l.path === '/readyz')).toMatchObject({ method: 'GET', status: 200 });
    expect(app.logs.join('\n')).not.toContain('query-string-value');
  });
});

describe.runIf(backends().includes('real'))('production mode (real)', () => {
  const app = useTestApp('real', { env: { NODE_ENV: 'production' } });

  it('turns GraphiQL off', async () => {
    const response = await app.fetch('/graphql', { headers: { accept: 'text/html' } });
    expect(await response.text()).not.toContain('GraphiQL');
  });

  it('refuses introspection but still answers __typename', async () => {
    const schema = await app.gql('{ __schema { types { name } } }');
    expect(schema.data).toBeNull();
    expect(schema.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    const type = await app.gql('{ __type(name: "User") { name } }');
    expect(type.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect((await app.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('does not suggest field names', async () => {
    const result = await app.gql('{ mee { id } }');
    expect(result.errors?.[0]?.message).toContain('mee');
    expect(result.errors?.[0]?.message).not.toContain('Did you mean');
  });
});
