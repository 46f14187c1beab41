import { describe, expect, it, vi } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, login, me, PASSWORD, signUp, uniqueEmail } from './support/actions.js';
import { users } from '../src/modules/users/tables.js';
import { eq } from 'drizzle-orm';

describe.each(backends())('login (%s)', (backend) => {
  const app = useTestApp(backend);

  it('signs in with the right password and the token works on me', async () => {
    const user = await signUp(app);
    const auth = expectOk(await login(app, user.email.toUpperCase())).login;
    expect(auth.mfaRequired).toBe(false);
    expect(auth.refreshToken).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    const data = expectOk(await me(app, auth.accessToken));
    expect(data.me.email).toBe(user.email);
    expect(data.me.lastLoginAt).not.toBeNull();
    const rows = await auditRows(app, { userId: user.userId, action: 'user.login' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'SUCCESS', metadata: { method: 'password' } });
  });

  it('answers an unknown email and a wrong password identically, each after one argon2 verification', async () => {
    const user = await signUp(app);
    const before = app.hasher.calls.verify;
    const wrong = await login(app, user.email, 'not the password at all');
    expect(app.hasher.calls.verify - before).toBe(1);
    const unknown = await login(app, uniqueEmail('nobody'), 'not the password at all');
    expect(app.hasher.calls.verify - before).toBe(2);
    expectCode(wrong, 'INVALID_CREDENTIALS');
    expectCode(unknown, 'INVALID_CREDENTIALS');
    expect(unknown.errors![0]!.message).toBe(wrong.errors![0]!.message);
    expect(unknown.status).toBe(wrong.status);
    const failed = await auditRows(app, { userId: user.userId, action: 'user.login_failed' });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ outcome: 'FAILURE', actorId: null });
  });

  it('answers ACCOUNT_DISABLED only after a correct password', async () => {
    const user = await signUp(app);
    await app.deps.db.update(users).set({ disabled: true }).where(eq(users.id, user.userId));
    expectCode(await login(app, user.email, 'a wrong password here'), 'INVALID_CREDENTIALS');
    expectCode(await login(app, user.email, PASSWORD), 'ACCOUNT_DISABLED');
  });

  it('rehashes a password made with other argon2 parameters on the next login', async () => {
    const user = await signUp(app);
    const { hash } = await import('@node-rs/argon2');
    const old = await hash(PASSWORD, { memoryCost: 2048, timeCost: 1, parallelism: 1, algorithm: 2 });
    await app.deps.db.update(users).set({ passwordHash: old }).where(eq(users.id, user.userId));
    expectOk(await login(app, user.email));
    const [row] = await app.deps.db.select().from(users).where(eq(users.id, user.userId));
    expect(row!.passwordHash).not.toBe(old);
    expect(app.hasher.needsRehash(row!.passwordHash!)).toBe(false);
  });

  it('opens no session and records no sign-in when the write sent with the session fails', async () => {
    const user = await signUp(app);
    const sessionsBefore = await app.deps.store.sessions.listByUser(user.userId, app.clock.now());
    // The failure streak's reset goes out with the session's own write (sessions/service.ts openSession).
    const reset = vi.spyOn(app.deps.store.gates, 'reset').mockRejectedValueOnce(new Error('store went away'));
    try {
      expectCode(await login(app, user.email), 'INTERNAL_SERVER_ERROR');
      expect(reset).toHaveBeenCalledTimes(1);
    } finally {
      reset.mockRestore();
    }
    const sessionsAfter = await app.deps.store.sessions.listByUser(user.userId, app.clock.now());
    expect(sessionsAfter.map((s) => s.id).sort()).toEqual(sessionsBefore.map((s) => s.id).sort());
    expect(await auditRows(app, { userId: user.userId, action: 'user.login' })).toHaveLength(0);
    // Nothing was left half done: the next attempt signs in.
    expectOk(await login(app, user.email));
    expect(await auditRows(app, { userId: user.userId, action: 'user.login' })).toHaveLength(1);
  });
});
