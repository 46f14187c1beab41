import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashingThreads } from '../src/shared/password-hasher.js';

const root = new URL('..', import.meta.url).pathname;
const preload = join(root, 'src/thread-pool.cjs');

/** A node started as start:prod starts it (the preload, then an ES module entry), printing what it saw. */
function run(args: string[], env: Record<string, string> = {}): string {
  const { UV_THREADPOOL_SIZE: _, ...rest } = process.env;
  return execFileSync(process.execPath, [`--require=${preload}`, ...args], { env: { ...rest, ...env }, encoding: 'utf8' }).trim();
}

const printSize = ['--input-type=module', '-e', 'console.log(process.env.UV_THREADPOOL_SIZE)'];

/**
 * libuv's pool sized to the hashing slots (src/thread-pool.cjs): one thread per CPU unless the
 * operator set UV_THREADPOOL_SIZE, and the hasher never counts more slots than threads.
 */
describe('the hashing thread pool', () => {
  it('is one thread per CPU when UV_THREADPOOL_SIZE is unset, and the hasher reads the same size', () => {
    const seen = run(printSize);
    expect(seen).toBe(String(availableParallelism()));
    expect(hashingThreads({ UV_THREADPOOL_SIZE: seen })).toBe(availableParallelism());
  });

  it('keeps an operator-set UV_THREADPOOL_SIZE', () => {
    expect(run(printSize, { UV_THREADPOOL_SIZE: '7' })).toBe('7');
  });

  // Linux only: threads are counted in /proc. An ES module file as the entry, as dist/main.js
  // is: loading it starts libuv's pool, too early for the module to size it. Six hashes at once
  // make the pool start all its threads; the rest of the process (main thread, V8's workers) is
  // the same in every run, so the differences are the pools'.
  it.runIf(process.platform === 'linux')('starts that many pool threads before an ES module entry loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'thread-pool-'));
    try {
      const entry = join(dir, 'entry.mjs');
      const argon2 = JSON.stringify(join(root, 'node_modules/@node-rs/argon2/index.js'));
      writeFileSync(
        entry,
        `import { readdirSync } from 'node:fs';
        import { createRequire } from 'node:module';
        const { hash } = createRequire(import.meta.url)(${argon2});
        await Promise.all(Array.from({ length: 6 }, () => hash('x', { memoryCost: 1024, timeCost: 1, parallelism: 1 })));
        console.log(readdirSync('/proc/self/task').length);`,
      );
      const threads = (env: Record<string, string> = {}) => Number(run([entry], env));
      const one = threads({ UV_THREADPOOL_SIZE: '1' });
      expect(threads({ UV_THREADPOOL_SIZE: '3' }) - one).toBe(2);
      expect(threads() - one).toBe(availableParallelism() - 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts libuv default of 4 threads when the variable is unset or not a size, and at most 1024', () => {
    expect(hashingThreads({})).toBe(4);
    expect(hashingThreads({ UV_THREADPOOL_SIZE: '0' })).toBe(4);
    expect(hashingThreads({ UV_THREADPOOL_SIZE: 'many' })).toBe(4);
    expect(hashingThreads({ UV_THREADPOOL_SIZE: '2' })).toBe(2);
    expect(hashingThreads({ UV_THREADPOOL_SIZE: '5000' })).toBe(1024);
  });
});
