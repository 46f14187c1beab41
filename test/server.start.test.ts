import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createShared, createTestApp, SECRET_KEY, type Shared } from './support/app.js';

const root = new URL('..', import.meta.url).pathname;

/** Runs a TypeScript entry point as its npm script does (tsx) to its exit, with only `env` set; `until` ends it early (SIGTERM). */
function runMain(env: Record<string, string>, script = 'src/main.ts', until?: (output: string) => boolean): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const read = (chunk: Buffer) => {
      output += chunk;
      if (until?.(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe.each(backends())('start with the port in use (%s)', (backend) => {
  let blocker: Server;
  let port: number;
  let dataDir: string;
  let shared: Shared;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as { port: number }).port;
    dataDir = mkdtempSync(join(tmpdir(), 'gateway-port-'));
    shared = await createShared(backend, undefined, { fresh: true });
  });
  afterAll(async () => {
    await new Promise((resolve) => blocker?.close(resolve));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('regression: exits with one clean message before migrating, generating a secret or printing an admin password, and no stack', async () => {
    const env: Record<string, string> = { NODE_ENV: 'development', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, ...shared.env };
    if (backend === 'real') env.SECRET_KEY = SECRET_KEY;
    const { code, output } = await runMain(env);
    expect(code).toBe(1);
    expect(output.trim()).toBe(`Port ${port} on 127.0.0.1 is already in use (another gateway running?). Stop it, or set PORT.`);
    expect(existsSync(join(dataDir, 'pgdata'))).toBe(false);
    expect(existsSync(join(dataDir, 'secret.key'))).toBe(false);
    if (backend === 'real') {
      const sql = postgres(shared.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
      const tables = await sql`select table_name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')`;
      await sql.end();
      expect(tables).toHaveLength(0);
    }
  });
});

describe.each(backends())('start-up output and keys:rotate (%s)', (backend) => {
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gateway-out-'));
    const shared = await createShared(backend, dataDir);
    env = { NODE_ENV: 'development', HOST: '127.0.0.1', PORT: '0', SECRET_KEY, ...shared.env };
  });
  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('regression: the banner names PUBLIC_URL (localhost, as in tokens and links), and the bound address beside it', async () => {
    const { output } = await runMain(env, 'src/main.ts', (out) => out.includes('ready at'));
    const banner = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => String(l.msg).includes('ready at'));
    expect(banner).toMatchObject({ url: 'http://localhost:0/graphql', listening: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/) });
    expect(banner.msg).toMatch(/^graphql-auth-gateway ready at http:\/\/localhost:0\/graphql \(listening on http:\/\/127\.0\.0\.1:\d+\/graphql\)$/);
  });

  it('regression: keys:rotate prints the new kid, and the old one as still signing (it printed the old kid as current)', async () => {
    const { code, output } = await runMain(env, 'src/scripts/rotate-keys.ts');
    expect(code).toBe(0);
    const printed = /signing key rotated: new kid (\S+) \(published now, signs from (\S+)\); kid (\S+) signs until then/.exec(output);
    expect(printed, output).not.toBeNull();
    const [, added, , old] = printed!;
    expect(added).not.toBe(old);
    const app = await createTestApp(
      backend === 'embedded' ? { backend, env: { DATA_DIR: dataDir } } : { backend, env: { DATABASE_URL: env.DATABASE_URL!, REDIS_URL: env.REDIS_URL! } },
    );
    try {
      expect(app.deps.keys.jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining([added, old]));
      expect(app.deps.keys.current().kid).toBe(old);
    } finally {
      await app.close();
    }
  });
});
