import type { Subscriber, SubscriberAccess, Verdict } from './access.js';
import type { AuditFeed } from './feed.js';
import { matchesAuditFilter, type AuditFilter } from './filter.js';
import type { AuditEvent } from './tables.js';

/** Why a stream ended; UNAVAILABLE carries what made the check fail, for the log. */
export type AuditStreamEnd = { end: Exclude<Verdict, 'ok'> | 'TOO_SLOW' | 'UNAVAILABLE'; cause?: unknown };

/**
 * What a subscription yields: an event, or once at the end, why it ended. The event is the
 * feed's own object, the same for every subscriber (useSharedSubscriptionResults executes it
 * once for all of them); an end is this subscriber's own object.
 */
export type AuditDelivery = AuditEvent | AuditStreamEnd;

/**
 * Events a subscriber may fall behind by before it is ended: a client that stops reading
 * must not make the server buffer without bound.
 */
export const MAX_BACKLOG = 10_000;

/**
 * One subscriber's stream: events matching `filter`, in publish order, from the moment this
 * resolves (no replay). Before each event the subscriber's session and `cap` are checked again
 * (SubscriberAccess); the first failed check yields `{ end }` and the stream ends, so a revoked
 * session or a lost cap stops delivery at the next event.
 *
 * A plain iterator, not an async generator: a generator waiting for the next event would only
 * see `return()` (the client unsubscribing) after that event came, and keep its listener until then.
 */
export async function openAuditSubscription(
  live: { feed: AuditFeed; access: SubscriberAccess },
  subscriber: Subscriber,
  options: { filter: AuditFilter; cap: string },
): Promise<AsyncIterableIterator<AuditDelivery>> {
  const queue: AuditEvent[] = [];
  let wake: (() => void) | null = null;
  let done = false;
  let overflow = false;
  let lost: { cause: unknown } | null = null;
  const stopListening = await live.feed.listen(
    (event) => {
      if (done || !matchesAuditFilter(event, options.filter)) return;
      if (queue.length >= MAX_BACKLOG) overflow = true;
      else queue.push(event);
      wake?.();
    },
    (cause) => {
      lost = { cause };
      wake?.();
    },
  );
  const finish = () => {
    done = true;
    queue.length = 0;
    stopListening();
    wake?.();
  };
  const end = (reason: AuditStreamEnd['end'], cause?: unknown): IteratorResult<AuditDelivery> => {
    finish();
    return { done: false, value: { end: reason, cause } };
  };

  const iterator: AsyncIterableIterator<AuditDelivery> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      for (;;) {
        if (done) return { done: true, value: undefined };
        if (overflow) return end('TOO_SLOW');
        // The store stopped answering: end now rather than wait for events that cannot come.
        if (lost) return end('UNAVAILABLE', (lost as { cause: unknown }).cause);
        const event = queue.shift();
        if (!event) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          continue;
        }
        let verdict: Verdict;
        try {
          const answer = live.access.check(subscriber, options.cap);
          verdict = typeof answer === 'string' ? answer : await answer;
        } catch (error) {
          // Fail closed: without an answer, nothing is delivered.
          return end('UNAVAILABLE', error);
        }
        if (done) return { done: true, value: undefined };
        return verdict === 'ok' ? { done: false, value: event } : end(verdict);
      }
    },
    async return() {
      finish();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      finish();
      throw error;
    },
  };
  return iterator;
}
