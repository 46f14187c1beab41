import { getGraphQLRateLimiter } from '@envelop/rate-limiter/get-graphql-rate-limiter';
import type { Store as LimiterStore } from '@envelop/rate-limiter/store';
import type { WindowStore } from './store.js';

export type WindowLimit = { max: number; windowMs: number };
export type WindowDecision = { allowed: true } | { allowed: false; retryAt: number };

/**
 * Counts one call of `name` by `subject` with @envelop/rate-limiter's limiter core (the
 * maintained fork of graphql-rate-limit, same Store contract) on an atomic Store.
 *
 * The library reads the caller's timestamps (getForIdentity), decides, then writes them back
 * (setForIdentity): with a stock store that read-then-write lets 30 of 30 concurrent calls
 * through at max 5. Here the read itself reserves the slot (WindowStore.reserve: trim, read,
 * add, expire in one step) and the write is a no-op, so exactly `max` pass. Conditions this
 * relies on: no `uncountRejected` and no `readOnly` (the slot is taken before the library
 * decides, refused calls included), and the store keeps each entry for at least its window
 * (WindowStore keeps a key `windowMs` after its last call).
 */
export async function countWindowCall(windows: WindowStore, now: number, name: string, subject: string, limit: WindowLimit): Promise<WindowDecision> {
  // The library treats max 0 as "unset" (5): a limit of 0 refuses everything without it.
  if (limit.max < 1) return { allowed: false, retryAt: now + limit.windowMs };
  let reservation = { before: 0, retryAt: 0 };
  const store: LimiterStore = {
    async getForIdentity(identity) {
      reservation = await windows.reserve(`${identity.fieldIdentity}:${identity.contextIdentity}`, { now, windowMs: limit.windowMs, max: limit.max });
      // The store has already trimmed the window by the injected clock; the library filters
      // again by Date.now(), so hand it entries that are always inside: it only counts them.
      return new Array<number>(reservation.before).fill(Number.POSITIVE_INFINITY);
    },
    // The slot was taken in getForIdentity; writing the library's list back would lose
    // reservations made concurrently.
    setForIdentity() {},
  };
  const limiter = getGraphQLRateLimiter({ store, identifyContext: () => subject });
  const refused = await limiter(name, { args: {}, context: null }, { max: limit.max, window: `${limit.windowMs}ms` });
  return refused ? { allowed: false, retryAt: reservation.retryAt } : { allowed: true };
}
