import type { Random } from './random.js';
import type { CodeStore } from './store.js';

/**
 * Cache epochs: a key in the store whose value, a random token, changes with every change of
 * what a cache holds (roles/access-cache.ts, users/cache.ts). A cached answer counts only under
 * the epoch read before it was. Random, not a counter: a store that lost its data (a Redis
 * restart) can never come back to a value some cache already holds.
 */

/** The current epoch under `key`; created when the store has none (first use, expiry, a store that lost its data). */
export async function currentEpoch(deps: { codes: CodeStore; random: Random }, key: string, ttlMs: number): Promise<string> {
  const epoch = await deps.codes.get(key);
  if (epoch) return epoch;
  const fresh = deps.random.uuid();
  await deps.codes.set(key, fresh, ttlMs);
  return fresh;
}

/** Voids every answer cached under the current epoch, on every instance, from their next lookup on. Call after the change commits. */
export async function renewEpoch(deps: { codes: CodeStore; random: Random }, key: string, ttlMs: number): Promise<void> {
  await deps.codes.set(key, deps.random.uuid(), ttlMs);
}
