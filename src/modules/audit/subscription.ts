import { Repeater } from 'graphql-yoga';
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
 * A Repeater (graphql-yoga's), not an async generator: a generator waiting for the next event
 * would only see `return()` (the client unsubscribing) after that event came, and keep its
 * listener until then; a Repeater's `stop` settles at once. Each event is checked when the
 * client asks for it (`await push` resolves on the next pull), as events queue up here.
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
  // Listening starts now, before the first pull: events from here on are kept for the client.
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
  const release = () => {
    if (done) return;
    done = true;
    queue.length = 0;
    stopListening();
    wake?.();
  };

  const stream = new Repeater<AuditDelivery>(async (push, stop) => {
    void stop.then(release);
    const end = (reason: AuditStreamEnd['end'], cause?: unknown) => void push({ end: reason, cause });
    try {
      while (!done) {
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
        if (done) return;
        if (verdict !== 'ok') return end(verdict);
        await push(event);
      }
    } finally {
      release();
      stop();
    }
  });
  // The executor runs from the first pull; a client gone before that still lets go of the listener.
  const dispose = stream.return.bind(stream);
  stream.return = (value) => {
    release();
    return dispose(value);
  };
  return stream;
}
