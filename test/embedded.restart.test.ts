import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createShared, createTestApp } from './support/app.js';
import { expectOk, me, signIn, signUp } from './support/actions.js';

describe('embedded default across a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gag-data-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps its users, its generated secret and its signing key in DATA_DIR', async () => {
    // No SECRET_KEY: the embedded default generates one into DATA_DIR and must find it again.
    const shared = await createShared('embedded', dir);
    const first = await createTestApp(shared, { env: { SECRET_KEY: '' } });
    const user = await signUp(first);
    const jwks = await (await first.fetch('/.well-known/jwks.json')).text();
    await first.close();

    const secretFile = join(dir, 'secret.key');
    expect(readFileSync(secretFile, 'utf8').trim().length).toBeGreaterThanOrEqual(32);
    expect(statSync(secretFile).mode & 0o077).toBe(0);

    const second = await createTestApp(shared, { env: { SECRET_KEY: '' } });
    try {
      expect(await (await second.fetch('/.well-known/jwks.json')).text()).toBe(jwks);
      const again = await signIn(second, user.email);
      expect(again.userId).toBe(user.userId);
      expect(expectOk(await me(second, again.accessToken)).me.email).toBe(user.email);
    } finally {
      await second.close();
    }
  });
});
