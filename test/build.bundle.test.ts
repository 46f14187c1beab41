import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createShared, SECRET_KEY } from './support/app.js';
import { freePort } from './support/services.js';
import { readStartProd } from './support/start-prod.js';

const root = new URL('..', import.meta.url).pathname;

/**
 * The production bundle (build/bundle.mjs) with the files `npm run build` copies beside it, in a
 * folder of the project (its external packages resolve from node_modules), not in dist/: a
 * test must not replace the build a user or the bench runs.
 */
function buildBundle(): string {
  const scratch = join(root, 'test-artifacts');
  mkdirSync(scratch, { recursive: true });
  const out = mkdtempSync(join(scratch, 'bundle-'));
  execFileSync(process.execPath, ['build/bundle.mjs', relative(root, out)], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const build = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.build ?? '';
  for (const [, from, to] of build.matchAll(/cpSync\('([^']+)','([^']+)'/g)) {
    cpSync(join(root, from!), join(out, to!.replace(/^dist\//, '')), { recursive: true });
  }
  return out;
}

/** Polls /readyz until it answers 200 (at most `attempts` times, 100 ms apart) or the process exits. */
async function waitReady(base: string, child: ChildProcess, output: () => string, attempts = 300): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (child.exitCode !== null) throw new Error(`the bundle exited with ${child.exitCode}: ${output()}`);
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the bundle was not ready: ${output()}`);
}

describe.each(backends())('the production bundle (%s)', (backend) => {
  let out: string;
  let dataDir: string;
  let child: ChildProcess | undefined;
  let output = '';
  let base: string;

  beforeAll(async () => {
    out = buildBundle();
    dataDir = mkdtempSync(join(out, 'data-'));
    const shared = await createShared(backend, dataDir, { fresh: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Production mode on the real backends; the embedded default is for development. Started with
    // start:prod's environment and node flags, so a flag this node does not take fails here.
    const startProd = readStartProd(root);
    const env: Record<string, string> = {
      ...startProd.env,
      PATH: process.env.PATH ?? '',
      NODE_ENV: backend === 'real' ? 'production' : 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: base,
      SECRET_KEY,
      ...shared.env,
    };
    // Its paths under dist/ are this build's (the thread pool's preload).
    const flags = startProd.nodeFlags.map((flag) => flag.replace('=./dist/', `=${out}/`));
    child = spawn(process.execPath, [...flags, join(out, 'main.js')], { cwd: out, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => void (output += chunk));
    child.stderr!.on('data', (chunk: Buffer) => void (output += chunk));
    await waitReady(base, child, () => output);
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('starts from main.js and the files the build copies beside it: it answers GraphQL, hashes a password, and serves the pages and the console', async () => {
    expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({ status: 'ok', database: 'ok', store: 'ok' });
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($input: RegisterInput!) { register(input: $input) { user { email } auth { accessToken } } }',
        variables: { input: { email: `bundle-${backend}@example.com`, password: 'a long and unusual passphrase 7' } },
      }),
    });
    const body = (await response.json()) as { data?: { register: { user: { email: string }; auth: { accessToken: string } | null } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data!.register.user.email).toBe(`bundle-${backend}@example.com`);
    expect(body.data!.register.auth!.accessToken.split('.')).toHaveLength(3);
    // Read at run time from the copied pages (src/shared/app-root.ts): the bundle's own URL is main.js.
    const link = await fetch(`${base}/reset-password`);
    expect(link.status).toBe(200);
    expect(await link.text()).toContain('<html');
    const console = await fetch(`${base}/admin`);
    expect(console.status).toBe(200);
    expect(await console.text()).toContain('<html');
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('the Docker image', () => {
  it('runs what start:prod runs: node with the same flags on dist/main.js, with the same environment assignments', () => {
    const { env, nodeFlags } = readStartProd(root);
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const cmd = dockerfile.match(/^CMD (\[.*\])$/m);
    expect(cmd).not.toBeNull();
    expect(JSON.parse(cmd![1]!)).toEqual(['node', ...nodeFlags, 'dist/main.js']);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    // Every regex metacharacter of the value escaped, not only today's dots.
    const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const [name, value] of Object.entries(env)) expect(finalStage).toMatch(new RegExp(`^ENV .*\\b${name}=${literal(value)}(\\s|$)`, 'm'));
  });
});
