import { describe, expect, it } from 'vitest';
import { backends, createShared, createTestApp } from './support/app.js';
import { expectOk, signUp, me } from './support/actions.js';

describe.runIf(backends().includes('real'))('migrations (real)', () => {
  it('lets three instances start at once on a fresh database (one migrates, the others wait)', async () => {
    const shared = await createShared('real', undefined, { fresh: true });
    const apps = await Promise.all([createTestApp(shared), createTestApp(shared), createTestApp(shared)]);
    try {
      const user = await signUp(apps[0]!);
      expect(expectOk(await me(apps[2]!, user.accessToken)).me.id).toBe(user.userId);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });
});
