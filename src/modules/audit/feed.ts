import type { Logger } from '../../shared/logger.js';
import type { PubSub } from '../../shared/store.js';
import { AUDIT_CHANNEL } from './relay.js';
import type { AuditEvent } from './tables.js';

export type AuditListener = (event: AuditEvent) => void;

export type AuditFeed = {
  /** Calls `listener` with every audit event published from now on; resolves once listening. */
  listen(listener: AuditListener): Promise<() => void>;
  /** Local listeners (subscriptions) right now. */
  readonly size: number;
  close(): Promise<void>;
};

/** Event ids remembered to drop a repeated delivery (defence in depth; the relay publishes once). */
const REMEMBERED_IDS = 4096;

/**
 * This instance's end of AUDIT_CHANNEL: one store subscription, taken with the first local
 * listener and kept, and a fan-out to every local subscription. Each message is parsed once
 * per instance, not once per subscriber.
 */
export function createAuditFeed(deps: { pubsub: PubSub; logger: Logger; beforeDispatch?: (event: AuditEvent) => void }): AuditFeed {
  const listeners = new Set<AuditListener>();
  const seen = new Set<string>();
  let subscribed: Promise<() => Promise<void>> | null = null;
  let closed = false;

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
    async listen(listener) {
      if (closed) throw new Error('the audit feed is closed');
      if (!subscribed) {
        subscribed = deps.pubsub.subscribe(AUDIT_CHANNEL, dispatch);
        // A failed subscription is retried by the next listener.
        subscribed.catch(() => (subscribed = null));
      }
      await subscribed;
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    get size() {
      return listeners.size;
    },
    async close() {
      closed = true;
      listeners.clear();
      const unsubscribe = await subscribed?.catch(() => null);
      await unsubscribe?.();
    },
  };
}
