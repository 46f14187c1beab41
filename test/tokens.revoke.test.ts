import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { PUBLISH_AHEAD_MS } from '../src/modules/tokens/keys.js';
import { backends, SECRET_KEY, useInstances, type TestApp } from './support/app.js';
import { codeOf, expectOk, me, refresh, signIn, signUp } from './support/actions.js';

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const kidsOn = async (app: TestApp) => ((await (await app.fetch('/.well-known/jwks.json')).json()) as JSONWebKeySet).keys.map((k) => k.kid);
/** Pub/sub is asynchronous (Redis, and the in-process bus alike): the other instance hears within moments. */
const soon = { timeout: 2_000, interval: 20 };

describe.each(backends())('emergency key revocation across two instances (%s)', (backend) => {
  let a: TestApp;
  let b: TestApp;
  useInstances((first, second) => ([a, b] = [first, second]), backend);

  it('regression: keys:rotate --revoke ends the key at once on both instances (verifier cache included) and drops it from the JWKS; refresh signs under a new key', async () => {
    const user = await signUp(a);
    const oldKid = kidOf(user.accessToken);
    // Verified, so cached by each instance's verifier.
    expect(expectOk(await me(a, user.accessToken)).me.id).toBe(user.userId);
    expect(expectOk(await me(b, user.accessToken)).me.id).toBe(user.userId);
    expect(await kidsOn(b)).toContain(oldKid);

    expect(await a.deps.keys.revoke()).toBe(oldKid);
    const refused = await me(a, user.accessToken);
    expect(codeOf(refused)).toBe('UNAUTHENTICATED');
    expect(refused.errors![0]!.extensions.reason).toBe('invalid_token');
    await expect.poll(async () => codeOf(await me(b, user.accessToken)), soon).toBe('UNAUTHENTICATED');
    expect(await kidsOn(a)).not.toContain(oldKid);
    await expect.poll(() => kidsOn(b), soon).not.toContain(oldKid);

    // The session lives on: the refresh token is opaque, so it still works, on either instance.
    const renewed = expectOk(await refresh(b, user.refreshToken)).refreshToken;
    const newKid = kidOf(renewed.accessToken);
    expect(newKid).not.toBe(oldKid);
    expect(await kidsOn(a)).toContain(newKid);
    expect(await kidsOn(b)).toContain(newKid);
    // The new key signs at once, not after the usual ten minutes of publication.
    expect(kidOf((await signIn(a, user.email)).accessToken)).toBe(newKid);
    expect(expectOk(await me(a, renewed.accessToken)).me.id).toBe(user.userId);
    expect(expectOk(await me(b, renewed.accessToken)).me.id).toBe(user.userId);
  });

  it('revokes a retired key by kid and leaves the signing key alone', async () => {
    const user = await signUp(a);
    const oldKid = kidOf(user.accessToken);
    await a.deps.keys.rotate();
    await b.deps.keys.reload();
    a.clock.advance(PUBLISH_AHEAD_MS + 1_000);
    const fresh = await signIn(b, user.email);
    const signer = kidOf(fresh.accessToken);
    expect(signer).not.toBe(oldKid);
    expect(expectOk(await me(b, user.accessToken)).me.id).toBe(user.userId);

    expect(await a.deps.keys.revoke(oldKid)).toBe(oldKid);
    await expect.poll(async () => codeOf(await me(b, user.accessToken)), soon).toBe('UNAUTHENTICATED');
    await expect.poll(() => kidsOn(b), soon).not.toContain(oldKid);
    expect(kidOf((await signIn(b, user.email)).accessToken)).toBe(signer);
    expect(expectOk(await me(a, fresh.accessToken)).me.id).toBe(user.userId);
  });
});

describe.runIf(backends().includes('real'))('npm run keys:rotate -- --revoke (real)', () => {
  let a: TestApp;
  let b: TestApp;
  useInstances((first, second) => ([a, b] = [first, second]));

  it('revokes the current signing key from the command line', async () => {
    const user = await signUp(a);
    const oldKid = kidOf(user.accessToken);
    const env = {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      SECRET_KEY,
      DATABASE_URL: a.deps.config.databaseUrl!,
      REDIS_URL: a.deps.config.redisUrl!,
    };
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/scripts/rotate-keys.ts', '--revoke'], { env });
    expect(stdout).toContain(`signing key ${oldKid} revoked`);
    // The script's store has no test prefix, so these instances did not hear it: as after a lost message.
    await a.deps.keys.reload();
    await b.deps.keys.reload();
    expect(codeOf(await me(a, user.accessToken))).toBe('UNAUTHENTICATED');
    expect(codeOf(await me(b, user.accessToken))).toBe('UNAUTHENTICATED');
    const renewed = expectOk(await refresh(a, user.refreshToken)).refreshToken;
    expect(kidOf(renewed.accessToken)).not.toBe(oldKid);
    expect(expectOk(await me(b, renewed.accessToken)).me.id).toBe(user.userId);
  });
});
