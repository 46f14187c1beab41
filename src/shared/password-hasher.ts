import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';
import { DomainError } from './errors.js';

// @node-rs/argon2's Algorithm is an ambient const enum, which isolated modules cannot read: 2 is Argon2id.
const ARGON2ID = 2;

export type PasswordHasher = {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed hash; never throws on bad input. */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /** True when the hash was made with other parameters than the current ones (rehash on login). */
  needsRehash(passwordHash: string): boolean;
  /** True while as many calls wait for a hashing slot as the queue holds (see assertHashingCapacity). */
  busy(): boolean;
};

/**
 * RATE_LIMITED with `busy: true` and retryAfter 1: the password hashing queue is full. Nothing
 * was checked or counted, so retrying costs the caller nothing.
 */
export class HashingBusyError extends DomainError {
  constructor() {
    super('RATE_LIMITED', 'The server is busy; try again in a moment', { retryAfter: 1, busy: true });
  }
}

/**
 * Load shedding for operations that hash a password (login, register, re-authentication, a
 * reset): called before anything is counted or checked, so a refused attempt leaves the login
 * gate and the audit trail as they were. Past the queue's bound a burst is answered at once
 * instead of waiting seconds for a slot and ending in a timeout (ASVS 5.0 V13.2 resource limits).
 */
export function assertHashingCapacity(hasher: Pick<PasswordHasher, 'busy'>): void {
  if (hasher.busy()) throw new HashingBusyError();
}

/** Calls waiting for a hashing slot, per slot, before new ones are refused: at 2 slots and about 12 ms a hash, a wait of up to about 0.2 s. */
const WAITING_PER_SLOT = 16;

export type Argon2Params = { memoryCost: number; timeCost: number; parallelism: number };

/**
 * OWASP Password Storage Cheat Sheet, argon2id option 2: m=19 MiB, t=2, p=1. Set explicitly:
 * the library's defaults differ and may change under us.
 */
export const OWASP_ARGON2: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * Threads of libuv's pool, which runs the hashes: UV_THREADPOOL_SIZE as libuv reads it (1 to
 * 1024), else its default of 4. src/thread-pool.cjs sets it to the CPU count before the pool starts.
 */
export function hashingThreads(env: NodeJS.ProcessEnv = process.env): number {
  const size = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10);
  return size > 0 ? Math.min(size, 1024) : 4;
}

/**
 * argon2id with bounded concurrency: every hash takes `memoryCost` KiB, so an unbounded
 * burst of logins could exhaust memory; extra calls wait in a queue instead. One slot per CPU,
 * and no more than the pool has threads: a slot without a thread would only wait inside libuv,
 * where busy() does not see it.
 */
export function createArgon2Hasher(params: Argon2Params = OWASP_ARGON2, concurrency = Math.min(availableParallelism(), hashingThreads())): PasswordHasher {
  const options = { ...params, algorithm: ARGON2ID, outputLen: 32 };
  const suffix = `$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$`;
  return boundedHasher(
    {
      hash: (password) => hash(password, options),
      verify: async (passwordHash, password) => {
        try {
          return await verify(passwordHash, password);
        } catch {
          return false;
        }
      },
      needsRehash: (passwordHash) => !passwordHash.startsWith('$argon2id$v=19') || !passwordHash.includes(suffix),
    },
    { concurrency },
  );
}

/**
 * `inner` run at most `concurrency` calls at a time, the rest in a FIFO queue; busy() once
 * `maxWaiting` calls wait.
 */
export function boundedHasher(inner: Omit<PasswordHasher, 'busy'>, options: { concurrency: number; maxWaiting?: number }): PasswordHasher {
  const limit = createLimiter(options.concurrency);
  const maxWaiting = options.maxWaiting ?? options.concurrency * WAITING_PER_SLOT;
  return {
    hash: (password) => limit(() => inner.hash(password)),
    verify: (passwordHash, password) => limit(() => inner.verify(passwordHash, password)),
    needsRehash: (passwordHash) => inner.needsRehash(passwordHash),
    busy: () => limit.waiting() >= maxWaiting,
  };
}

/** A tiny FIFO semaphore: a finishing task hands its slot straight to the next waiter. */
export function createLimiter(max: number) {
  let active = 0;
  const queue: Array<() => void> = [];
  const run = async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => queue.push(resolve));
    try {
      return await task();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
  return Object.assign(run, { waiting: () => queue.length });
}
