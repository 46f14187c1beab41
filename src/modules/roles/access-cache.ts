import { LRUCache } from 'lru-cache';
import type { Deps } from '../../deps.js';
import { currentEpoch, renewEpoch } from '../../shared/epoch.js';
import { getUserAccess, type Access } from './queries.js';

/** The epoch (shared/epoch.ts) that every change of roles, grants or role holders renews. */
const EPOCH_KEY = 'access-epoch';
/** Re-created on first use when missing; its expiry is only one more invalidation. */
const EPOCH_TTL_MS = 24 * 60 * 60 * 1000;
/** The pub/sub channel that tells every instance to drop its cached access at once. */
const CHANNEL = 'access-changed';
/** Belt and braces: an answer is never older than this, whatever happened to the epoch. */
const MAX_AGE_MS = 60_000;
const MAX_ENTRIES = 10_000;

type Entry = { epoch: string; at: number; access: Access };
type Cache = { entries: LRUCache<string, Entry>; subscribed: boolean };
type CacheDeps = Pick<Deps, 'db' | 'store' | 'random' | 'monotonic' | 'logger'>;

/** One cache per instance (per Deps object), so two instances in one process do not share it. */
const caches = new WeakMap<object, Cache>();

function cacheOf(deps: CacheDeps): Cache {
  let cache = caches.get(deps);
  if (!cache) {
    cache = { entries: new LRUCache<string, Entry>({ max: MAX_ENTRIES }), subscribed: false };
    caches.set(deps, cache);
  }
  if (!cache.subscribed) {
    cache.subscribed = true;
    const entries = cache.entries;
    deps.store.pubsub
      .subscribe(CHANNEL, () => entries.clear())
      .catch((err: unknown) => {
        cache!.subscribed = false;
        deps.logger.warn({ err }, 'access cache: subscribing to changes failed');
      });
  }
  return cache;
}

/**
 * The caller's roles and effective caps, as getUserAccess reads them, from a per-instance cache.
 * Exact on every instance from the next request on: each lookup reads the epoch from the store
 * (one GET, cheaper than the join it replaces) *before* the database, and an answer counts only
 * under the epoch it was read with. A change commits, then sets a new epoch (accessChanged), so
 * an answer read before the commit can never be served after the new epoch is set. The pub/sub
 * message only frees memory early; a late or lost message (Redis pub/sub is at most once) changes
 * nothing. OWASP ASVS 5.0 V8.3.1: authorization is enforced on current data, not on what a cache
 * or a token said when the session began.
 */
export async function cachedUserAccess(deps: CacheDeps, userId: string): Promise<Access> {
  const cache = cacheOf(deps);
  const epoch = await currentEpoch({ codes: deps.store.codes, random: deps.random }, EPOCH_KEY, EPOCH_TTL_MS);
  const now = deps.monotonic();
  const hit = cache.entries.get(userId);
  if (hit && hit.epoch === epoch && now - hit.at <= MAX_AGE_MS) return hit.access;
  const access = await getUserAccess(deps.db, userId);
  cache.entries.set(userId, { epoch, at: now, access });
  return access;
}

/**
 * Call after the transaction that changed roles, a role's caps, a user's roles or direct grants
 * has committed (never before: a reader could then cache the old rows under the new epoch).
 * Every instance's cached access is void from its next lookup on.
 */
export async function accessChanged(deps: Pick<Deps, 'store' | 'random'>): Promise<void> {
  await renewEpoch({ codes: deps.store.codes, random: deps.random }, EPOCH_KEY, EPOCH_TTL_MS);
  await deps.store.pubsub.publish(CHANNEL, '');
}
