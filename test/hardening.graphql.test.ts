import { eq } from 'drizzle-orm';
import { getIntrospectionQuery } from 'graphql';
import { createClient, type FormattedExecutionResult } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { users } from '../src/modules/users/tables.js';
import { backends, createShared, createTestApp, type TestApp, useTestApp } from './support/app.js';
import { AUTH_FIELDS, expectOk, logout, me, PASSWORD, refresh, signIn, signUp, uniqueEmail } from './support/actions.js';

/** `{ a0: __typename a1: __typename ... }` with n aliases. */
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
/** `{ __typename @include(if: true) ... }` with n directives. */
const directives = (n: number) => `{ ${Array.from({ length: n }, () => '__typename @include(if: true)').join(' ')} }`;
/** `{ __typename __typename ... }`: n fields, cost n. */
const typenames = (n: number) => `{ ${'__typename '.repeat(n)}}`;
/**
 * A valid document of exactly n tokens. The fields are spread over three selection sets: a
 * thousand same-named fields in one set exceed graphql-js's own budget for comparing them
 * (OverlappingFieldsCanBeMergedRule), which refuses the document with "Validation aborted."
 */
function tokens(n: number): string {
  const each = Math.floor((n - 13) / 3);
  const rest = n - 13 - 2 * each;
  return `{ __schema { ${'description '.repeat(each)}} __type(name: "User") { ${'name '.repeat(each)}} ${'__typename '.repeat(rest)}}`;
}
/** Depth 11, past the default 10: `__type` is not exempt, only `__schema` (GraphiQL's query). */
const DEEP_TYPE = `{ __type(name: "User") { fields { type { ${'ofType { '.repeat(7)}name ${'} '.repeat(7)}} } } }`;

type Raw = { status: number; body: { data?: unknown; errors?: Array<{ message: string; extensions: Record<string, unknown> }> } };

/** One POST, answered as the GraphQL-over-HTTP spec asks for `accept` (application/json: 200 even on a refused document). */
async function post(app: TestApp, query: string, accept: string, variables?: Record<string, unknown>): Promise<Raw> {
  const body = JSON.stringify({ query, variables });
  const response = await app.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept }, body });
  return { status: response.status, body: (await response.json()) as Raw['body'] };
}

/**
 * The document is refused before execution: HTTP 400 with the spec's media type
 * (application/graphql-response+json) and no `data`; 200 for a legacy application/json client;
 * every error BAD_USER_INPUT. Returns the messages.
 */
async function expectRefused(app: TestApp, query: string, variables?: Record<string, unknown>): Promise<string[]> {
  const modern = await post(app, query, 'application/graphql-response+json', variables);
  expect(modern.status, JSON.stringify(modern.body)).toBe(400);
  expect(modern.body.data).toBeUndefined();
  const legacy = await post(app, query, 'application/json', variables);
  expect(legacy.status).toBe(200);
  for (const { body } of [modern, legacy]) {
    expect(body.errors?.length).toBeGreaterThan(0);
    for (const error of body.errors!) expect(error.extensions.code, error.message).toBe('BAD_USER_INPUT');
  }
  return modern.body.errors!.map((e) => e.message);
}

async function expectAccepted(app: TestApp, query: string) {
  const result = await post(app, query, 'application/graphql-response+json');
  expect(result.body.errors, JSON.stringify(result.body.errors)).toBeUndefined();
  expect(result.status).toBe(200);
}

describe.each(backends())('GraphQL limits (%s)', (backend) => {
  let app: TestApp;
  let shallow: TestApp;
  let cheap: TestApp;
  beforeAll(async () => {
    // One after the other: on one database, concurrent starts would race the migrations.
    const shared = await createShared(backend);
    app = await createTestApp(shared);
    shallow = await createTestApp(shared, { env: { GRAPHQL_MAX_DEPTH: '1' } });
    cheap = await createTestApp(shared, { env: { GRAPHQL_MAX_COST: '40' } });
  });
  afterAll(() => Promise.all([app?.close(), shallow?.close(), cheap?.close()]));

  it('the default limits accept real operations: sign-up, sign-in, me, sessions, refresh, logout', async () => {
    const user = await signUp(app);
    const again = await signIn(app, user.email);
    expectOk(await me(app, again.accessToken));
    expectOk(await app.gql('{ mySessions { id current ip userAgent createdAt lastSeenAt expiresAt mfaVerified } }', {}, { token: again.accessToken }));
    const renewed = expectOk(await refresh(app, again.refreshToken)).refreshToken;
    expectOk(await logout(app, renewed.accessToken));
  });

  it("GraphiQL's introspection query passes the default limits in development", async () => {
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    await expectAccepted(app, query);
    // `__schema` is exempt from depth (and cost) outside production: it runs even at a depth limit of 1.
    await expectAccepted(shallow, query);
  });

  it('depth: over the limit is refused, at the limit accepted', async () => {
    const [message] = await expectRefused(shallow, '{ me { id } }');
    expect(message).toBe('Query depth limit of 1 exceeded, found 2.');
    await expectAccepted(shallow, '{ __typename }');
    // The default (10) bites too, on the only deep thing the schema has.
    expect(await expectRefused(app, DEEP_TYPE)).toEqual(['Query depth limit of 10 exceeded, found 11.']);
  });

  it('depth counts fragments by the shape of the response, not by the spreads', async () => {
    // A named fragment and an inline fragment at the root add no depth: this is still depth 1.
    await expectAccepted(shallow, 'query { ...Root ... on Query { __typename } } fragment Root on Query { __typename }');
    const [message] = await expectRefused(shallow, 'query { ...Root } fragment Root on Query { me { id } }');
    expect(message).toContain('found 2');
  });

  it('cost: a real operation over the limit is refused, a lighter selection of it accepted', async () => {
    const input = { email: uniqueEmail(), password: PASSWORD };
    // register with every field signUp asks for: objects 2, scalars 1, ×1.5 per level = 46.25.
    const heavy = `mutation($input: RegisterInput!) { register(input: $input) { user { id email } auth { ${AUTH_FIELDS} } } }`;
    expect(await expectRefused(cheap, heavy, { input })).toEqual(['Query Cost limit of 40 exceeded, found 46.25.']);
    expect(await cheap.deps.db.select().from(users).where(eq(users.email, input.email))).toEqual([]);
    const light = await cheap.gql('mutation($input: RegisterInput!) { register(input: $input) { auth { accessToken } } }', { input });
    // Every profile field is 2 + 1.5 × 20 = 32: under the limit.
    expect(expectOk(await me(cheap, expectOk(light).register.auth.accessToken)).me.email).toBe(input.email);
  });

  it('aliases: 16 refused at the default 15, 15 accepted, and __typename is no exception', async () => {
    expect(await expectRefused(app, aliases(16))).toEqual(['Aliases limit of 15 exceeded, found 16.']);
    await expectAccepted(app, aliases(15));
    // armor's default allow-list would let `__typename: login(...)` through as a free alias.
    const [message] = await expectRefused(app, `{ __typename: me { id } ${aliases(15).slice(1)}`);
    expect(message).toContain('found 16');
  });

  it('tokens: 1001 refused at the default 1000, 1000 accepted', async () => {
    expect(await expectRefused(app, tokens(1001))).toEqual(['Syntax Error: Token limit of 1000 exceeded.']);
    await expectAccepted(app, tokens(1000));
  });

  it('directives: 11 refused at the default 10, 10 accepted', async () => {
    expect(await expectRefused(app, directives(11))).toEqual(['Directives limit of 10 exceeded, found 11.']);
    await expectAccepted(app, directives(10));
  });

  it('the limits hold over WebSocket too', async () => {
    const url = (await shallow.listen()).replace(/^http/, 'ws');
    const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
    const run = (query: string) =>
      new Promise<FormattedExecutionResult<unknown, unknown>>((resolve, reject) => {
        let result: FormattedExecutionResult<unknown, unknown> | undefined;
        client.subscribe(
          { query },
          {
            next: (value) => void (result = value),
            error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
            complete: () => (result ? resolve(result) : reject(new Error('completed without a result'))),
          },
        );
      });
    try {
      const deep = await run('{ me { id } }');
      expect(deep.errors?.map((e) => [e.message, e.extensions?.code])).toEqual([['Query depth limit of 1 exceeded, found 2.', 'BAD_USER_INPUT']]);
      const long = await run(tokens(1001));
      expect(long.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      // The connection survives a refused document.
      expect(await run('{ __typename }')).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await client.dispose();
    }
  });
});

describe.runIf(backends().includes('real'))('GraphQL limits in production (real)', () => {
  const app = useTestApp('real', { env: { NODE_ENV: 'production', GRAPHQL_MAX_DEPTH: '1', GRAPHQL_MAX_COST: '20' } });

  it('names the limit that bit but never its number', async () => {
    const refused = {
      depth: await expectRefused(app, '{ me { id } }'),
      cost: await expectRefused(app, typenames(21)),
      aliases: await expectRefused(app, aliases(16)),
      tokens: await expectRefused(app, tokens(1001)),
      directives: await expectRefused(app, directives(11)),
    };
    expect(refused).toEqual({
      depth: ['Query is too deep.'],
      cost: ['Query is too costly.'],
      aliases: ['Too many aliases.'],
      tokens: ['Syntax Error: Too many tokens.'],
      directives: ['Too many directives.'],
    });
    await expectAccepted(app, typenames(20));
  });

  it('suggests no field names, with or without a limit error', async () => {
    for (const query of ['{ mee }', '{ me { emial } }']) {
      const messages = await expectRefused(app, query);
      expect(messages.join(' ')).not.toMatch(/Did you mean|Suggestion|"me"|"email"/);
    }
  });

  it('never exposes the introspection exemption: __schema meets the limits and the introspection rule', async () => {
    const messages = await expectRefused(app, getIntrospectionQuery());
    expect(messages).toEqual(expect.arrayContaining(['Query is too deep.']));
    expect(messages.some((m) => m.includes('introspection'))).toBe(true);
  });
});
