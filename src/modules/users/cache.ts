import { LRUCache } from 'lru-cache';
import type { Db } from '../../db/client.js';
import { currentEpoch, renewEpoch } from '../../shared/epoch.js';
import type { Random } from '../../shared/random.js';
import type { Store } from '../../shared/store.js';
import { findUserById, onUserRowChanged } from './queries.js';
import type { UserRow } from './tables.js';

/**
 * The user rows `me` answers with, per instance, exact on every instance from the next request
 * on (the pattern of roles/access-cache.ts, per user). Each user has an epoch in the store
 * (shared/epoch.ts), renewed after every committed update or delete of their row
 * (users/queries.ts reports each one, whatever module wrote it); a cached row counts only under
 * the epoch read *before* it was. A lookup costs one GET on the store instead of a query and the
 * database's own work. No pub/sub message goes with a change: every lookup reads the epoch
 * anyway, so a message would only free a stale copy sooner (the LRU bound and the next lookup
 * free it too), at the price of a round trip per write and a message to every instance (a login
 * writes lastLoginAt).
 *
 * Only for showing the caller their own row: decisions (sign-in, MFA, guards, disabled checks)
 * read the database. The copies carry no password hash.
 */
export type UserCache = {
  /** The user's row, or null when there is none. */
  get(userId: string): Promise<UserRow | null>;
  /** Stops voiding epochs on this instance's writes (closeDeps). */
  stop(): void;
};

/** Re-created on first use when missing; its expiry is only one more miss. */
const EPOCH_TTL_MS = 24 * 60 * 60 * 1000;
/** Belt and braces: a copy is never older than this, whatever happened to the epoch. */
const MAX_AGE_MS = 60_000;
const MAX_ENTRIES = 10_000;

const epochKey = (userId: string) => `user-epoch:${userId}`;

type Entry = { epoch: string; at: number; row: UserRow };

export function createUserCache(deps: { db: Db; store: Store; random: Random; monotonic: () => number }): UserCache {
  const entries = new LRUCache<string, Entry>({ max: MAX_ENTRIES });
  const epochs = { codes: deps.store.codes, random: deps.random };
  // Every write, on every instance, renews the epoch after its commit (never before: a reader
  // could then cache the old row under the new epoch). A failure fails the write's request: a
  // change that other instances might not see must not be reported as done.
  const unsubscribe = onUserRowChanged(deps.db, async (userId) => {
    entries.delete(userId);
    await renewEpoch(epochs, epochKey(userId), EPOCH_TTL_MS);
  });
  return {
    async get(userId) {
      const epoch = await currentEpoch(epochs, epochKey(userId), EPOCH_TTL_MS);
      const now = deps.monotonic();
      const hit = entries.get(userId);
      // A copy each time: the GraphQL layer keys per-request work on the row object (users/graphql.ts accessOf).
      if (hit && hit.epoch === epoch && now - hit.at <= MAX_AGE_MS) return { ...hit.row };
      const found = await findUserById(deps.db, userId);
      if (!found) {
        entries.delete(userId);
        return null;
      }
      const row = { ...found, passwordHash: null };
      entries.set(userId, { epoch, at: now, row });
      return { ...row };
    },
    stop: unsubscribe,
  };
}
