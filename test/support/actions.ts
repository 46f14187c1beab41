import { expect } from 'vitest';
import type { GqlResult, TestApp } from './app.js';

export const PASSWORD = 'correct horse battery staple';

export const AUTH_FIELDS = `accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt mfaRequired mfaMethods defaultMfaMethod user { id email roles caps }`;

export type Tokens = { accessToken: string; refreshToken: string; userId: string; email: string };

let counter = 0;
/** A unique email per call, so tests on a shared database never collide. */
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}.${Date.now().toString(36)}.${(counter++).toString(36)}@example.com`;
}

/** A prefix of X-Request-Id values no other test uses ([A-Za-z0-9._-], as the gateway keeps them). */
export function uniqueRequestPrefix(name = 'req'): string {
  return `${name}.${Date.now().toString(36)}.${(counter++).toString(36)}.`;
}

/** The first error's code, or null. */
export function codeOf(result: GqlResult): string | null {
  return result.errors?.[0]?.extensions.code ?? null;
}

export function expectCode(result: GqlResult, code: string) {
  expect(
    result.errors?.map((e) => e.extensions.code),
    JSON.stringify(result.errors),
  ).toEqual([code]);
}

export function expectOk<T>(result: GqlResult<T>): T {
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data as T;
}

export async function register(app: TestApp, input: { email?: string; password?: string; [k: string]: unknown } = {}) {
  return app.gql(`mutation($input: RegisterInput!) { register(input: $input) { user { id email } auth { ${AUTH_FIELDS} } } }`, {
    input: { email: uniqueEmail(), password: PASSWORD, ...input },
  });
}

/** Registers a user and returns their tokens. */
export async function signUp(app: TestApp, input: { email?: string; password?: string } = {}): Promise<Tokens> {
  const data = expectOk(await register(app, input));
  const auth = data.register.auth;
  return { accessToken: auth.accessToken, refreshToken: auth.refreshToken, userId: data.register.user.id, email: data.register.user.email };
}

export async function login(app: TestApp, email: string, password = PASSWORD, headers?: Record<string, string>) {
  return app.gql(`mutation($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`, { input: { email, password } }, { headers });
}

export async function signIn(app: TestApp, email: string, password = PASSWORD): Promise<Tokens> {
  const auth = expectOk(await login(app, email, password)).login;
  return { accessToken: auth.accessToken, refreshToken: auth.refreshToken, userId: auth.user.id, email: auth.user.email };
}

export async function me(app: TestApp, token: string) {
  return app.gql(
    `{ me { id email name firstName lastName bio language avatarUrl roles caps emailVerified phone phoneVerified mfaEnabled mfaMethods defaultMfaMethod disabled createdAt updatedAt lastLoginAt } }`,
    {},
    { token },
  );
}

export async function refresh(app: TestApp, refreshToken: string | null) {
  return app.gql(`mutation($t: String) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`, { t: refreshToken });
}

export async function logout(app: TestApp, token: string, allSessions?: boolean) {
  return app.gql(`mutation($all: Boolean) { logout(allSessions: $all) }`, { all: allSessions }, { token });
}

/**
 * Audit rows of a user, oldest first, straight from the table (the audit API comes later).
 * `requestIdPrefix` keeps the rows of requests sent with `requestIds(prefix)` ids: those of this
 * test only, on an app other tests share.
 */
export async function auditRows(app: TestApp, filter: { userId?: string; action?: string; requestIdPrefix?: string } = {}) {
  const { auditEvents } = await import('../../src/modules/audit/tables.js');
  const { and, asc, eq, like } = await import('drizzle-orm');
  const conditions = [
    filter.userId ? eq(auditEvents.userId, filter.userId) : undefined,
    filter.action ? eq(auditEvents.action, filter.action) : undefined,
    filter.requestIdPrefix ? like(auditEvents.requestId, `${filter.requestIdPrefix}%`) : undefined,
  ].filter((c) => c !== undefined);
  return app.deps.db
    .select()
    .from(auditEvents)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(asc(auditEvents.at), asc(auditEvents.seq));
}
