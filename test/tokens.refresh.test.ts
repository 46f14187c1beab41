import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { backends, type TestApp, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, logout, me, refresh, signUp, type Tokens } from './support/actions.js';
import { users } from '../src/modules/users/tables.js';

const SECOND = 1000;
const ACCESS_TTL = 15 * 60 * SECOND;
const REFRESH_TTL = 30 * 86_400 * SECOND;
const REFRESH_FORMAT = /^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/;

/** The session id a refresh token routes to (`<session id>.<secret>`). */
const sessionOf = (refreshToken: string) => refreshToken.split('.')[0]!;

function setup(app: () => TestApp) {
  /** Rotates a refresh token and returns the new pair; fails the test on any error. */
  const rotate = async (refreshToken: string) => {
    const auth = expectOk(await refresh(app(), refreshToken)).refreshToken;
    return { accessToken: auth.accessToken as string, refreshToken: auth.refreshToken as string };
  };
  /** Asserts that an access token authenticates as `user` on `me`. */
  const expectWorks = async (accessToken: string, user: Tokens) => {
    expect(expectOk(await me(app(), accessToken)).me).toMatchObject({ id: user.userId, email: user.email });
  };
  return { rotate, expectWorks };
}

describe.each(backends())('refresh tokens (%s)', (backend) => {
  const app = useTestApp(backend);
  const { rotate, expectWorks } = setup(() => app);

  it('rotates into a different refresh token and an access token that keeps sid and amr', async () => {
    const user = await signUp(app);
    const next = await rotate(user.refreshToken);
    expect(next.refreshToken).toMatch(REFRESH_FORMAT);
    expect(next.refreshToken).not.toBe(user.refreshToken);
    expect(sessionOf(next.refreshToken)).toBe(sessionOf(user.refreshToken));
    await expectWorks(next.accessToken, user);
    const before = decodeJwt(user.accessToken);
    const after = decodeJwt(next.accessToken);
    expect(after.sid).toBe(sessionOf(user.refreshToken));
    expect(after.sid).toBe(before.sid);
    expect(after.amr).toEqual(['pwd']);
    expect(after.sub).toBe(user.userId);
    expect(after.jti).not.toBe(before.jti);
  });

  it('keeps rotating: each new refresh token works once more (chain of 3)', async () => {
    const user = await signUp(app);
    const seen = new Set([user.refreshToken]);
    let current = user.refreshToken;
    for (let i = 0; i < 3; i++) {
      const next = await rotate(current);
      expect(seen.has(next.refreshToken)).toBe(false);
      seen.add(next.refreshToken);
      await expectWorks(next.accessToken, user);
      expect(decodeJwt(next.accessToken).sid).toBe(sessionOf(user.refreshToken));
      current = next.refreshToken;
    }
    expect(seen.size).toBe(4);
  });

  it('answers INVALID_TOKEN for malformed and unknown tokens without hurting the session', async () => {
    const user = await signUp(app);
    const secret = () => randomBytes(32).toString('base64url');
    for (const token of ['garbage', '', `${user.refreshToken}x`, `${randomUUID()}.${secret()}`, `${sessionOf(user.refreshToken)}.${secret()}`]) {
      expectCode(await refresh(app, token), 'INVALID_TOKEN');
    }
    expectCode(await refresh(app, null), 'INVALID_TOKEN');
    // A guess at a live session's secret is not reuse: the real token still works.
    await expectWorks((await rotate(user.refreshToken)).accessToken, user);
  });

  it('answers the same successor when the old token comes back within the grace, and the session lives on', async () => {
    const user = await signUp(app);
    const first = await rotate(user.refreshToken);
    app.clock.advance(5 * SECOND);
    const again = await rotate(user.refreshToken);
    expect(again.refreshToken).toBe(first.refreshToken);
    await expectWorks(again.accessToken, user);
    await expectWorks(first.accessToken, user);
    const third = await rotate(again.refreshToken);
    await expectWorks(third.accessToken, user);
    expect(await auditRows(app, { userId: user.userId, action: 'token.reuse_detected' })).toHaveLength(0);
  });

  it('lets two concurrent refreshes with one token both succeed with the same successor', async () => {
    const user = await signUp(app);
    const [a, b] = await Promise.all([refresh(app, user.refreshToken), refresh(app, user.refreshToken)]);
    const tokenA = expectOk(a).refreshToken.refreshToken as string;
    const tokenB = expectOk(b).refreshToken.refreshToken as string;
    expect(tokenA).not.toBe(user.refreshToken);
    expect(tokenB).toBe(tokenA);
    await expectWorks(expectOk(a).refreshToken.accessToken, user);
    await expectWorks(expectOk(b).refreshToken.accessToken, user);
    await expectWorks((await rotate(tokenA)).accessToken, user);
  });

  it('treats reuse after the grace as theft: INVALID_TOKEN, the whole session revoked, token.reuse_detected recorded', async () => {
    const user = await signUp(app);
    const sid = sessionOf(user.refreshToken);
    const latest = await rotate(user.refreshToken);
    await expectWorks(latest.accessToken, user);
    app.clock.advance(11 * SECOND);
    expectCode(await refresh(app, user.refreshToken), 'INVALID_TOKEN');
    expectCode(await me(app, latest.accessToken), 'UNAUTHENTICATED');
    expectCode(await refresh(app, latest.refreshToken), 'INVALID_TOKEN');
    const rows = await auditRows(app, { userId: user.userId, action: 'token.reuse_detected' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'FAILURE', metadata: { sessionId: sid } });
    const metadata = JSON.stringify(rows[0]!.metadata);
    for (const token of [user.refreshToken, latest.refreshToken, user.accessToken, latest.accessToken]) {
      expect(metadata).not.toContain(token.split('.').at(-1)!);
    }
    expect(Object.keys(rows[0]!.metadata ?? {}).filter((k) => /token|hash|secret/i.test(k))).toEqual([]);
  });

  it('expires a refresh token with the clock after REFRESH_TOKEN_TTL', async () => {
    const expiring = await signUp(app);
    const control = await signUp(app);
    app.clock.advance(REFRESH_TTL - SECOND);
    await expectWorks((await rotate(control.refreshToken)).accessToken, control);
    app.clock.advance(2 * SECOND);
    expectCode(await refresh(app, expiring.refreshToken), 'INVALID_TOKEN');
  });

  it('refuses the refresh token of a session that logged out', async () => {
    const user = await signUp(app);
    expect(expectOk(await logout(app, user.accessToken)).logout).toBe(true);
    expectCode(await refresh(app, user.refreshToken), 'INVALID_TOKEN');
  });

  it('lets an expired access token be replaced through refresh', async () => {
    const user = await signUp(app);
    await expectWorks(user.accessToken, user);
    app.clock.advance(ACCESS_TTL + 10 * SECOND);
    expectCode(await me(app, user.accessToken), 'UNAUTHENTICATED');
    const next = await rotate(user.refreshToken);
    await expectWorks(next.accessToken, user);
  });

  it('refuses to refresh once the user is disabled', async () => {
    const user = await signUp(app);
    const next = await rotate(user.refreshToken);
    await expectWorks(next.accessToken, user);
    await app.deps.db.update(users).set({ disabled: true }).where(eq(users.id, user.userId));
    expectCode(await refresh(app, next.refreshToken), 'INVALID_TOKEN');
  });
});

describe.each(backends())('refresh tokens with REFRESH_REUSE_GRACE=0s (%s)', (backend) => {
  const app = useTestApp(backend, { env: { REFRESH_REUSE_GRACE: '0s' } });
  const { rotate, expectWorks } = setup(() => app);

  it('treats the immediate second presentation as reuse and revokes the session', async () => {
    const user = await signUp(app);
    const latest = await rotate(user.refreshToken);
    await expectWorks(latest.accessToken, user);
    // No clock movement: "0s = strict" must not leave a same-millisecond window.
    expectCode(await refresh(app, user.refreshToken), 'INVALID_TOKEN');
    expectCode(await me(app, latest.accessToken), 'UNAUTHENTICATED');
    expectCode(await refresh(app, latest.refreshToken), 'INVALID_TOKEN');
    const rows = await auditRows(app, { userId: user.userId, action: 'token.reuse_detected' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'FAILURE', metadata: { sessionId: sessionOf(user.refreshToken) } });
  });

  it('treats a second presentation one millisecond later as reuse', async () => {
    const user = await signUp(app);
    const latest = await rotate(user.refreshToken);
    app.clock.advance(1);
    expectCode(await refresh(app, user.refreshToken), 'INVALID_TOKEN');
    expectCode(await me(app, latest.accessToken), 'UNAUTHENTICATED');
  });
});
