import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';

// @node-rs/argon2's Algorithm is an ambient const enum, which isolated modules cannot read: 2 is Argon2id.
const ARGON2ID = 2;

export type PasswordHasher = {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed hash; never throws on bad input. */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /** True when the hash was made with other parameters than the current ones (rehash on login). */
  needsRehash(passwordHash: string): boolean;
};

export type Argon2Params = { memoryCost: number; timeCost: number; parallelism: number };

/**
 * OWASP Password Storage Cheat Sheet, argon2id option 2: m=19 MiB, t=2, p=1. Set explicitly:
 * the library's defaults differ and may change under us.
 */
export const OWASP_ARGON2: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * argon2id with bounded concurrency: every hash takes `memoryCost` KiB, so an unbounded
 * burst of logins could exhaust memory; extra calls wait in a queue instead.
 */
export function createArgon2Hasher(params: Argon2Params = OWASP_ARGON2, concurrency = availableParallelism()): PasswordHasher {
  const limit = createLimiter(concurrency);
  const options = { ...params, algorithm: ARGON2ID, outputLen: 32 };
  const suffix = `$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$`;
  return {
    hash: (password) => limit(() => hash(password, options)),
    verify: (passwordHash, password) =>
      limit(async () => {
        try {
          return await verify(passwordHash, password);
        } catch {
          return false;
        }
      }),
    needsRehash: (passwordHash) => !passwordHash.startsWith('$argon2id$v=19') || !passwordHash.includes(suffix),
  };
}

/** A tiny FIFO semaphore: a finishing task hands its slot straight to the next waiter. */
export function createLimiter(max: number) {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
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
}
