import type { Logger } from '../../shared/logger.js';
import type { PubSub } from '../../shared/store.js';
import { AUDIT_CHANNEL } from './relay.js';
import type { AuditEvent } from './tables.js';

export type AuditListener = (event: AuditEvent) => void;
/** Called once when the store stopped answering: no event will come; the listener is dropped. */
export type AuditLostListener = (cause: unknown) => void;

export type AuditFeed = {
  /** Calls `listener` with every audit event published from now on; resolves once listening. */
  listen(listener: AuditListener, onLost?: AuditLostListener): Promise<() => void>;
  /** Local listeners (subscriptions) right now. */
  readonly size: number;
  close(): Promise<void>;
};

/** Event ids remembered to drop a repeated delivery (defence in depth; the relay publishes once). */
const REMEMBERED_IDS = 4096;

export type FeedHealth = {
  /** Resolves while the store answers (Store.ping). */
  ping: () => Promise<void>;
  /** How often it is asked while there are listeners, and how long an answer may take. @default 2000 */
  everyMs?: number;
  /** Consecutive failed pings after which every listener is told the feed is lost. @default 2 */
  failAfter?: number;
};

/**
 * This instance's end of AUDIT_CHANNEL: one store subscription, taken with the first local
 * listener and kept, and a fan-out to every local subscription. Each message is parsed once
 * per instance, not once per subscriber.
 */
export function createAuditFeed(deps: { pubsub: PubSub; logger: Logger; beforeDispatch?: (event: AuditEvent) => void; health?: FeedHealth }): AuditFeed {
  const listeners = new Set<AuditListener>();
  const lostListeners = new Map<AuditListener, AuditLostListener>();
  const health = deps.health ? watchHealth(deps.health, () => listeners.size > 0, lose) : null;
  const seen = new Set<string>();
  let subscribed: Promise<() => Promise<void>> | null = null;
  let closed = false;

  /**
   * The store stopped answering: pub/sub delivers nothing meanwhile, so a subscriber would wait
   * for events that never come. Its stream ends with an error instead; it subscribes again
   * (backfilling from auditLogs) once the store is back.
   */
  function lose(cause: unknown): void {
    deps.logger.error({ err: cause, listeners: listeners.size }, 'audit feed lost the store; ending live subscriptions');
    for (const [listener, onLost] of lostListeners) {
      listeners.delete(listener);
      onLost(cause);
    }
    lostListeners.clear();
  }

  function dispatch(message: string): void {
    let event: AuditEvent;
    try {
      const parsed = JSON.parse(message) as AuditEvent & { at: string };
      event = { ...parsed, at: new Date(parsed.at) };
    } catch (err) {
      deps.logger.warn({ err }, 'unreadable audit event message');
      return;
    }
    if (seen.has(event.id)) return;
    seen.add(event.id);
    if (seen.size > REMEMBERED_IDS) seen.delete(seen.values().next().value!);
    deps.beforeDispatch?.(event);
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        deps.logger.error({ err }, 'audit event listener failed');
      }
    }
  }

  return {
    async listen(listener, onLost) {
      if (closed) throw new Error('the audit feed is closed');
      if (!subscribed) {
        subscribed = deps.pubsub.subscribe(AUDIT_CHANNEL, dispatch);
        // A failed subscription is retried by the next listener.
        subscribed.catch(() => (subscribed = null));
      }
      await subscribed;
      listeners.add(listener);
      if (onLost) lostListeners.set(listener, onLost);
      health?.start();
      return () => {
        listeners.delete(listener);
        lostListeners.delete(listener);
      };
    },
    get size() {
      return listeners.size;
    },
    async close() {
      closed = true;
      health?.stop();
      listeners.clear();
      lostListeners.clear();
      const unsubscribe = await subscribed?.catch(() => null);
      await unsubscribe?.();
    },
  };
}

/** Pings while `active()`; after `failAfter` failed (or unanswered) pings in a row, calls `lost` once per outage. */
function watchHealth(health: FeedHealth, active: () => boolean, lost: (cause: unknown) => void) {
  const everyMs = health.everyMs ?? 2000;
  const failAfter = health.failAfter ?? 2;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const check = async () => {
    timer = undefined;
    if (!active()) return void (failures = 0);
    let wait: NodeJS.Timeout | undefined;
    const unanswered = new Promise<never>(
      (_, reject) => (wait = setTimeout(() => reject(new Error(`store did not answer a ping within ${everyMs} ms`)), everyMs)),
    );
    try {
      await Promise.race([health.ping(), unanswered]);
      failures = 0;
    } catch (error) {
      if (++failures === failAfter) lost(error);
    } finally {
      clearTimeout(wait);
    }
    start();
  };
  const start = () => {
    if (timer || !active()) return;
    timer = setTimeout(() => void check(), everyMs);
    timer.unref();
  };
  return { start, stop: () => clearTimeout(timer) };
}
