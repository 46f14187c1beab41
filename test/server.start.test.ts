import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createShared, SECRET_KEY, type Shared } from './support/app.js';

const root = new URL('..', import.meta.url).pathname;

/** Runs `npm start`'s command (tsx src/main.ts) to its exit, with only `env` set. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
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
    shared = await createShared(backend);
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
