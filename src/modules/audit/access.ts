import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import type { Db } from '../../db/client.js';
import type { Clock } from '../../shared/clock.js';
import type { Store } from '../../shared/store.js';
import { getUserAccess } from '../roles/queries.js';

export type Subscriber = { sessionId: string; userId: string };
export type Verdict = 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN';

export type SubscriberAccess = {
  /**
   * Whether the subscriber's session is live and its user holds `cap`, at most `ttlMs` old: at
   * once when both answers are cached (the common case, once per event per subscriber), else a promise.
   */
  check(subscriber: Subscriber, cap: string): Verdict | Promise<Verdict>;
  /** Forgets the answers about one user (their sessions and caps), or with null every answer. */
  invalidate(userId: string | null): void;
};

/**
 * Audit events that can end a subscriber's right to them: a session ended, a password changed,
 * a user's roles or a role's caps changed, a user deleted. Their arrival drops the cached
 * answers about the user they concern (about everyone, for a role) before they are delivered,
 * so the event that records a revocation already finds it. See findStaleAccess.
 */
export const REVOKING_ACTIONS: ReadonlySet<string> = new Set([
  'user.logout',
  'session.revoked',
  'token.reuse_detected',
  'password.changed',
  'password.reset',
  'user.deleted',
  'admin.user_updated',
  'admin.user_deleted',
  'admin.sessions_revoked',
  'role.upserted',
  'role.deleted',
]);

/** Caches grow with the sessions and users seen; past this, the least recently used go first. */
const MAX_ENTRIES = 10_000;

type Entry<T> = { at: number; value: Promise<T>; settled?: { value: T }; userId: string };

/** Whose cached answers an audit event makes stale: undefined for none, null for everyone's. */
export function findStaleAccess(event: { action: string; userId: string | null }): string | null | undefined {
  if (!REVOKING_ACTIONS.has(event.action)) return undefined;
  return event.action.startsWith('role.') ? null : event.userId;
}

/**
 * Re-checks live subscribers (README "Tokens and sessions": subscriptions are re-checked per
 * event). An answer is shared by every subscription of the same session (and user) and kept at
 * most `ttlMs`, so a burst of events to many subscribers costs one store read per session and
 * one database read per user per `ttlMs`, not one per event. The wait is measured on the
 * monotonic clock: it bounds staleness in real time, whatever deps.clock says.
 */
export function createSubscriberAccess(
  deps: { db: Db; store: Store; clock: Clock },
  options: {
    /** How long an answer is kept. @default 1000 */
    ttlMs?: number;
    /** Most answers kept (least recently used go first). @default 10,000 */
    maxEntries?: number;
    /** The monotonic clock the wait is measured on (tests inject theirs). @default performance.now */
    monotonic?: () => number;
  } = {},
): SubscriberAccess {
  const ttlMs = options.ttlMs ?? 1000;
  const monotonic = options.monotonic ?? (() => performance.now());
  const max = options.maxEntries ?? MAX_ENTRIES;
  const sessions = new LRUCache<string, Entry<string | null>>({ max });
  const caps = new LRUCache<string, Entry<readonly string[]>>({ max });

  function cached<T>(map: LRUCache<string, Entry<T>>, key: string, userId: string, load: () => Promise<T>): Entry<T> {
    const now = monotonic();
    const hit = map.get(key);
    if (hit && now - hit.at <= ttlMs) return hit;
    const entry: Entry<T> = { at: now, value: load(), userId };
    map.set(key, entry);
    entry.value.then(
      (value) => void (entry.settled = { value }),
      // A failed read is not an answer to keep.
      () => map.get(key) === entry && map.delete(key),
    );
    return entry;
  }

  const sessionOwner = (subscriber: Subscriber) =>
    cached(
      sessions,
      subscriber.sessionId,
      subscriber.userId,
      async () => (await deps.store.sessions.get(subscriber.sessionId, deps.clock.now()))?.userId ?? null,
    );
  const capsOf = (userId: string) => cached(caps, userId, userId, async () => (await getUserAccess(deps.db, userId)).caps);
  const verdict = (owner: string | null, held: readonly string[], subscriber: Subscriber, cap: string): Verdict =>
    owner !== subscriber.userId ? 'UNAUTHENTICATED' : held.includes(cap) ? 'ok' : 'FORBIDDEN';

  return {
    check(subscriber, cap) {
      const owner = sessionOwner(subscriber);
      const held = capsOf(subscriber.userId);
      if (owner.settled && held.settled) return verdict(owner.settled.value, held.settled.value, subscriber, cap);
      return Promise.all([owner.value, held.value]).then(([o, h]) => verdict(o, h, subscriber, cap));
    },
    invalidate(userId) {
      if (userId === null) {
        sessions.clear();
        caps.clear();
        return;
      }
      caps.delete(userId);
      for (const [key, entry] of [...sessions.entries()]) if (entry.userId === userId) sessions.delete(key);
    },
  };
}
