import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createArgon2Hasher } from '../src/shared/password-hasher.js';
import { percentile, type Measurement } from './measurement.js';

/**
 * The most logins per second the hashing alone allows: `workers` concurrent loops, each only
 * verifying the right password against an OWASP-parameter hash, through the gateway's own
 * hasher (same parameters, same concurrency limit), for `seconds`, on a libuv pool of the
 * gateway's size (`npm run bench` preloads src/thread-pool.cjs as start:prod does). Latency
 * includes the wait for a hashing slot, as it does for a login.
 */
export async function runArgon2Ceiling(workers: number, seconds: number, signal: AbortSignal): Promise<Measurement> {
  const hasher = createArgon2Hasher();
  const password = randomBytes(18).toString('base64url');
  const hash = await hasher.hash(password);
  const durations: number[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline && !signal.aborted) {
      const began = performance.now();
      if (!(await hasher.verify(hash, password))) throw new Error('argon2 verify rejected the right password');
      durations.push(performance.now() - began);
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
  signal.throwIfAborted();
  const elapsedSeconds = (performance.now() - start) / 1000;
  durations.sort((a, b) => a - b);
  return {
    connections: workers,
    reqPerSec: durations.length / elapsedSeconds,
    p50Ms: percentile(durations, 50),
    p99Ms: percentile(durations, 99),
    total: durations.length,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    badBodies: 0,
  };
}
