import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { freePort } from '../test/support/services.js';
import { readStartProd } from '../test/support/start-prod.js';
import type { Backends } from './backends.js';
import type { Cleanup } from './cleanup.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A gateway as `npm run start:prod` runs it: the production build, in a process of its own. */
export type ProductionGateway = {
  url: string;
  pid: number;
  /** Spawn to the first 200 from /readyz. */
  readyMs: number;
  /** Resident set size now, in MB (/proc/<pid>/status VmRSS). */
  rssMb(): Promise<number>;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
};

/** start:prod's environment and node arguments, on this checkout's dist/main.js. */
function startProdCommand(): { env: Record<string, string>; args: string[] } {
  const { env, nodeFlags } = readStartProd(ROOT);
  return { env, args: [...nodeFlags, join(ROOT, 'dist/main.js')] };
}

/**
 * start:prod's JIT tiering flag (--interrupt-budget), set in the bench's own process too: the
 * bare yoga baseline (and the in-process gateway of the embedded fallback) then tier up as the
 * production gateway they are compared with does. Heap flags (--max-semi-space-size) cannot
 * change in a running isolate and are left as they are. Returns the flags set.
 */
export function applyProductionTiering(): string[] {
  const flags = readStartProd(ROOT).nodeFlags.filter((arg) => arg.startsWith('--interrupt-budget='));
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}

/** `npm run build`, so the numbers are those of the current sources. */
export function buildProduction(): void {
  console.log('building the production bundle (npm run build)');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0 || !existsSync(join(ROOT, 'dist/main.js'))) throw new Error('npm run build failed');
}

/**
 * `node dist/main.js` with NODE_ENV=production on the real backends. LOG_LEVEL unset means the
 * default (info: a line per request), which is what a user runs; its log goes to a file in the
 * data dir (not /dev/null, which would make logging look free), as with `npm start > file`: the
 * gateway writes it itself. Not through a pipe to this process, whose reading and writing again
 * would be counted against the gateway on the same cores (about 0.2 ms of CPU per login).
 */
export async function startProductionGateway(
  backends: Backends,
  cleanup: Cleanup,
  options: { secretKey: string; logLevel?: 'warn'; label: string },
): Promise<ProductionGateway> {
  if (!backends.databaseUrl || !backends.redisUrl) throw new Error('the production build needs real PostgreSQL and Redis');
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SECRET_KEY: options.secretKey,
    DATABASE_URL: backends.databaseUrl,
    REDIS_URL: backends.redisUrl,
    DATA_DIR: backends.dataDir,
    // Loopback is one client IP: the per-IP limits are lifted, as for the in-process gateway.
    RATE_LIMITS: 'login.ip=1000000000/1m,register.ip=1000000000/1m',
    ...(options.logLevel ? { LOG_LEVEL: options.logLevel } : {}),
  };
  const log = openSync(join(backends.dataDir, `${options.label}.log`), 'a');
  const began = performance.now();
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each gateway, written there when it exits.
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, `--cpu-prof-name=${options.label}.cpuprofile`]
    : [];
  const command = startProdCommand();
  const child = spawn(process.execPath, [...profile, ...command.args], { cwd: ROOT, env: { ...env, ...command.env }, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  cleanup.add(`stop the production gateway (${options.label})`, stop);
  const base = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the production gateway exited (${child.exitCode}); see ${join(backends.dataDir, `${options.label}.log`)}`);
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (performance.now() - began > 30_000) throw new Error('the production gateway was not ready within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const readyMs = performance.now() - began;
  const pid = child.pid!;
  return {
    url: `${base}/graphql`,
    pid,
    readyMs,
    async rssMb() {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
      return kb / 1024;
    },
    stop,
  };
}
