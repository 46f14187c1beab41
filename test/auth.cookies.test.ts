import { parseSetCookie, type SetCookie } from 'cookie';
import { createClient } from 'graphql-ws';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { backends, type GqlResult, type TestApp, useTestApp } from './support/app.js';
import { AUTH_FIELDS, auditRows, expectCode, expectOk, PASSWORD, signUp, uniqueEmail } from './support/actions.js';

const SECOND = 1000;
const CSRF = { 'x-graphql-yoga-csrf': '1' };
const ME = '{ me { id email } }';
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { user { id } auth { ${AUTH_FIELDS} } } }`;
const REFRESH = `mutation($t: String, $set: Boolean) { refreshToken(refreshToken: $t, setCookie: $set) { ${AUTH_FIELDS} } }`;
const LOGOUT = 'mutation { logout }';

type Sent = GqlResult & { cookies: SetCookie[] };
type Jar = Record<string, string>;

function setup(app: () => TestApp, names = { access: 'access_token', refresh: 'refresh_token' }) {
  /** A GraphQL POST through app.fetch; returns the body and every Set-Cookie header, parsed. */
  const send = async (query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Sent> => {
    const response = await app().fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: any };
    const cookies = response.headers.getSetCookie().map((line) => parseSetCookie(line));
    return { status: response.status, headers: response.headers, data: body.data ?? null, errors: body.errors, cookies };
  };
  /** The Cookie request header a browser would send for these cookies. */
  const cookieHeader = (jar: Jar) => ({
    cookie: Object.entries(jar)
      .map(([k, v]) => `${k}=${v}`)
      .join('; '),
  });
  /** The token cookies a response set, by role. */
  const tokenCookies = (sent: Sent) => ({
    access: sent.cookies.find((c) => c.name === names.access),
    refresh: sent.cookies.find((c) => c.name === names.refresh),
  });
  /** The Max-Age a cookie for a token expiring at `iso` must have: whole seconds left, never more than the token lives. */
  const maxAgeUntil = (iso: string) => Math.floor((Date.parse(iso) - app().clock.now()) / SECOND);
  /** Signs up, then logs in with setCookie; returns the payload and the browser's cookies. */
  const cookieLogin = async () => {
    const user = await signUp(app());
    const sent = await send(LOGIN, { input: { email: user.email, password: PASSWORD, setCookie: true } });
    const auth = expectOk(sent).login;
    const { access, refresh } = tokenCookies(sent);
    const jar: Jar = { [names.access]: access!.value!, [names.refresh]: refresh!.value! };
    return { user, auth, sent, jar };
  };
  return { send, cookieHeader, tokenCookies, maxAgeUntil, cookieLogin };
}

describe.each(backends())('token cookies (%s)', (backend) => {
  const app = useTestApp(backend);
  const { send, cookieHeader, tokenCookies, maxAgeUntil, cookieLogin } = setup(() => app);

  it('login with setCookie sets both tokens as HttpOnly, SameSite=Strict, Path=/ cookies living as long as the tokens (no Secure outside production)', async () => {
    const { auth, sent } = await cookieLogin();
    const { access, refresh } = tokenCookies(sent);
    expect(sent.cookies).toHaveLength(2);
    const maxAge = { access: maxAgeUntil(auth.accessTokenExpiresAt), refresh: maxAgeUntil(auth.refreshTokenExpiresAt) };
    expect(access).toEqual({ name: 'access_token', value: auth.accessToken, httpOnly: true, sameSite: 'strict', path: '/', maxAge: maxAge.access });
    expect(refresh).toEqual({ name: 'refresh_token', value: auth.refreshToken, httpOnly: true, sameSite: 'strict', path: '/', maxAge: maxAge.refresh });
    // ACCESS_TOKEN_TTL 15m and REFRESH_TOKEN_TTL 30d, less the part of a second the JWT's exp drops.
    expect(maxAge.access).toBeGreaterThanOrEqual(15 * 60 - 1);
    expect(maxAge.refresh).toBeGreaterThanOrEqual(30 * 86_400 - 1);
    expect(sent.headers.getSetCookie().join('\n')).not.toMatch(/Secure|Domain/i);
  });

  it('register with setCookie sets both cookies; setCookie false or absent sets none', async () => {
    const registered = await send(REGISTER, { input: { email: uniqueEmail(), password: PASSWORD, setCookie: true } });
    const auth = expectOk(registered).register.auth;
    expect(tokenCookies(registered).access?.value).toBe(auth.accessToken);
    expect(tokenCookies(registered).refresh?.value).toBe(auth.refreshToken);
    for (const setCookie of [false, undefined]) {
      const email = uniqueEmail();
      const quiet = await send(REGISTER, { input: { email, password: PASSWORD, setCookie } });
      expectOk(quiet);
      expect(quiet.headers.getSetCookie()).toEqual([]);
      const login = await send(LOGIN, { input: { email, password: PASSWORD, setCookie } });
      expectOk(login);
      expect(login.headers.getSetCookie()).toEqual([]);
    }
  });

  it('authenticates `me` from the access cookie with the CSRF header', async () => {
    const { user, jar } = await cookieLogin();
    const result = await send(ME, {}, { ...cookieHeader({ access_token: jar.access_token! }), ...CSRF });
    expect(expectOk(result).me).toEqual({ id: user.userId, email: user.email });
  });

  it('refuses a cookie without the CSRF header (or with an empty one) with UNAUTHENTICATED, naming the header', async () => {
    const { jar } = await cookieLogin();
    for (const csrf of [{}, { 'x-graphql-yoga-csrf': '' }] as Array<Record<string, string>>) {
      const result = await send(ME, {}, { ...cookieHeader(jar), ...csrf });
      expectCode(result, 'UNAUTHENTICATED');
      expect(result.errors![0]!.message).toContain('x-graphql-yoga-csrf');
    }
  });

  it('takes the Authorization header over the cookie, even when the header is bad', async () => {
    const cookieUser = await cookieLogin();
    const headerUser = await signUp(app);
    const both = await send(ME, {}, { ...cookieHeader(cookieUser.jar), ...CSRF, authorization: `Bearer ${headerUser.accessToken}` });
    expect(expectOk(both).me.id).toBe(headerUser.userId);
    expectCode(await send(ME, {}, { ...cookieHeader(cookieUser.jar), ...CSRF, authorization: 'Bearer nope' }), 'UNAUTHENTICATED');
  });

  it('refreshToken without an argument rotates the refresh cookie and sets both cookies anew', async () => {
    const { user, jar } = await cookieLogin();
    const sent = await send(REFRESH, {}, { ...cookieHeader({ refresh_token: jar.refresh_token! }), ...CSRF });
    const auth = expectOk(sent).refreshToken;
    const { access, refresh } = tokenCookies(sent);
    const attributes = { httpOnly: true, sameSite: 'strict', path: '/' };
    expect(refresh).toMatchObject({ ...attributes, value: auth.refreshToken, maxAge: maxAgeUntil(auth.refreshTokenExpiresAt) });
    expect(access).toMatchObject({ ...attributes, value: auth.accessToken, maxAge: maxAgeUntil(auth.accessTokenExpiresAt) });
    expect(refresh!.value).not.toBe(jar.refresh_token);
    const me = await send(ME, {}, { ...cookieHeader({ access_token: access!.value! }), ...CSRF });
    expect(expectOk(me).me.id).toBe(user.userId);
  });

  it('an old refresh cookie follows the reuse rules: its successor within the grace, then INVALID_TOKEN, the session revoked and the cookies cleared', async () => {
    const { user, jar } = await cookieLogin();
    const old = { ...cookieHeader({ refresh_token: jar.refresh_token! }), ...CSRF };
    const first = tokenCookies(await send(REFRESH, {}, old));
    app.clock.advance(5 * SECOND);
    const again = await send(REFRESH, {}, old);
    expect(tokenCookies(again).refresh?.value).toBe(first.refresh?.value);
    app.clock.advance(11 * SECOND);
    const reused = await send(REFRESH, {}, old);
    expectCode(reused, 'INVALID_TOKEN');
    expect(reused.cookies.map((c) => [c.name, c.value, c.maxAge])).toEqual([
      ['access_token', '', 0],
      ['refresh_token', '', 0],
    ]);
    expectCode(await send(ME, {}, { ...cookieHeader({ access_token: first.access!.value! }), ...CSRF }), 'UNAUTHENTICATED');
    expect(await auditRows(app, { userId: user.userId, action: 'token.reuse_detected' })).toHaveLength(1);
  });

  it('refreshToken without an argument and without a cookie is INVALID_TOKEN and sets no cookie', async () => {
    for (const headers of [CSRF, {}]) {
      const sent = await send(REFRESH, {}, headers);
      expectCode(sent, 'INVALID_TOKEN');
      expect(sent.cookies).toEqual([]);
    }
  });

  it('refreshToken from the cookie without the CSRF header is UNAUTHENTICATED and leaves the token usable', async () => {
    const { jar } = await cookieLogin();
    const refused = await send(REFRESH, {}, cookieHeader(jar));
    expectCode(refused, 'UNAUTHENTICATED');
    expect(refused.errors![0]!.message).toContain('x-graphql-yoga-csrf');
    expect(refused.cookies).toEqual([]);
    expectOk(await send(REFRESH, {}, { ...cookieHeader(jar), ...CSRF }));
  });

  it('refreshToken with an argument sets cookies only when setCookie is true', async () => {
    const user = await signUp(app);
    const plain = await send(REFRESH, { t: user.refreshToken });
    expect(plain.cookies).toEqual([]);
    const next = expectOk(plain).refreshToken.refreshToken as string;
    const withCookies = await send(REFRESH, { t: next, set: true });
    expect(tokenCookies(withCookies).refresh?.value).toBe(expectOk(withCookies).refreshToken.refreshToken);
  });

  it('logout clears both cookies, whether by cookie or by header, and the old access cookie is refused afterwards', async () => {
    const byCookie = await cookieLogin();
    const out = await send(LOGOUT, {}, { ...cookieHeader(byCookie.jar), ...CSRF });
    expect(expectOk(out).logout).toBe(true);
    expect(out.cookies).toEqual([
      { name: 'access_token', value: '', httpOnly: true, sameSite: 'strict', path: '/', maxAge: 0 },
      { name: 'refresh_token', value: '', httpOnly: true, sameSite: 'strict', path: '/', maxAge: 0 },
    ]);
    expectCode(await send(ME, {}, { ...cookieHeader(byCookie.jar), ...CSRF }), 'UNAUTHENTICATED');
    expectCode(await send(REFRESH, {}, { ...cookieHeader(byCookie.jar), ...CSRF }), 'INVALID_TOKEN');

    const byHeader = await cookieLogin();
    const outByHeader = await send(LOGOUT, {}, { authorization: `Bearer ${byHeader.auth.accessToken}` });
    expect(outByHeader.cookies.map((c) => [c.name, c.maxAge])).toEqual([
      ['access_token', 0],
      ['refresh_token', 0],
    ]);
  });

  it('gives cookie credentials (CORS Allow-Credentials) only to the configured origins', async () => {
    const preflight = (origin: string) =>
      app.fetch('/graphql', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-graphql-yoga-csrf' },
      });
    const own = await preflight('http://gateway.test');
    expect(own.headers.get('access-control-allow-credentials')).toBe('true');
    expect(own.headers.get('access-control-allow-origin')).toBe('http://gateway.test');
    // Not in CORS_ORIGINS: no CORS headers at all (server.websocket.test.ts has a listed one).
    const other = await preflight('http://evil.gateway.test');
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe.each(backends())('token cookies on a real port: node:http and WebSocket (%s)', (backend) => {
  const app = useTestApp(backend);
  let url: string;
  beforeAll(async () => {
    url = await app.listen();
  });
  const { cookieLogin } = setup(() => app);

  /** One operation over graphql-ws from a client whose upgrade request carries these headers. */
  const overWebSocket = (query: string, headers: Record<string, string>) => {
    const WithHeaders = class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers });
      }
    };
    const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WithHeaders, retryAttempts: 0 });
    return new Promise<{ data?: any; errors?: any }>((resolve, reject) => {
      let result: { data?: any; errors?: any } = {};
      client.subscribe(
        { query },
        {
          next: (value) => void (result = value),
          error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
          complete: () => resolve(result),
        },
      );
    }).finally(() => client.dispose());
  };

  it('sets and reads the cookies through node:http as through yoga.fetch', async () => {
    const user = await signUp(app);
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const login = await post({ query: LOGIN, variables: { input: { email: user.email, password: PASSWORD, setCookie: true } } });
    const cookies = login.headers.getSetCookie().map((line) => parseSetCookie(line));
    expect(cookies.map((c) => c.name)).toEqual(['access_token', 'refresh_token']);
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const result = (await (await post({ query: ME }, { cookie, ...CSRF })).json()) as { data: { me: { id: string } } };
    expect(result.data.me.id).toBe(user.userId);
  });

  it('never authenticates from the cookies of the upgrade request (no CORS guards a WebSocket)', async () => {
    const { jar } = await cookieLogin();
    const cookie = Object.entries(jar)
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
    const result = await overWebSocket(ME, { cookie, ...CSRF });
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses setCookie over a WebSocket before signing in (BAD_USER_INPUT on setCookie)', async () => {
    const user = await signUp(app);
    const result = await overWebSocket(`mutation { login(input: { email: "${user.email}", password: "${PASSWORD}", setCookie: true }) { accessToken } }`, {});
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'setCookie' });
    expect(await auditRows(app, { userId: user.userId, action: 'user.login' })).toHaveLength(0);
  });
});

describe.runIf(backends().includes('real'))('token cookies in production (real)', () => {
  const app = useTestApp('real', { env: { NODE_ENV: 'production' } });
  const names = { access: '__Host-access_token', refresh: '__Host-refresh_token' };
  const { send, cookieHeader, tokenCookies, maxAgeUntil, cookieLogin } = setup(() => app, names);

  it('names the cookies __Host- and sets Secure, Path=/ and no Domain', async () => {
    const { auth, sent } = await cookieLogin();
    const { access, refresh } = tokenCookies(sent);
    const attributes = { httpOnly: true, secure: true, sameSite: 'strict', path: '/' };
    expect(access).toEqual({ ...attributes, name: names.access, value: auth.accessToken, maxAge: maxAgeUntil(auth.accessTokenExpiresAt) });
    expect(refresh).toEqual({ ...attributes, name: names.refresh, value: auth.refreshToken, maxAge: maxAgeUntil(auth.refreshTokenExpiresAt) });
    expect(sent.headers.getSetCookie().join('\n')).not.toMatch(/Domain/i);
  });

  it('reads only the __Host- names: an unprefixed cookie (which a sibling subdomain could plant) authenticates nobody', async () => {
    const { user, jar } = await cookieLogin();
    expect(expectOk(await send(ME, {}, { ...cookieHeader(jar), ...CSRF })).me.id).toBe(user.userId);
    const planted = { access_token: jar[names.access]!, refresh_token: jar[names.refresh]! };
    expectCode(await send(ME, {}, { ...cookieHeader(planted), ...CSRF }), 'UNAUTHENTICATED');
    expectCode(await send(REFRESH, {}, { ...cookieHeader(planted), ...CSRF }), 'INVALID_TOKEN');
  });

  it('clears the __Host- cookies with the same attributes on logout (else the browser would keep them)', async () => {
    const { jar } = await cookieLogin();
    const out = await send(LOGOUT, {}, { ...cookieHeader(jar), ...CSRF });
    expect(out.cookies.map((c) => [c.name, c.maxAge, c.secure, c.path])).toEqual([
      [names.access, 0, true, '/'],
      [names.refresh, 0, true, '/'],
    ]);
  });
});
