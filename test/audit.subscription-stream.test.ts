import { describe, expect, it } from 'vitest';
import type { SubscriberAccess, Verdict } from '../src/modules/audit/access.js';
import type { AuditFeed, AuditListener, AuditLostListener } from '../src/modules/audit/feed.js';
import type { AuditFilter } from '../src/modules/audit/filter.js';
import { MAX_BACKLOG, openAuditSubscription } from '../src/modules/audit/subscription.js';
import type { AuditEvent } from '../src/modules/audit/tables.js';

/**
 * The stream of one subscriber, on its own (no backend is involved: feed and access are
 * stand-ins). Through the API, audit.subscription.test.ts covers delivery and revocation.
 */
function fakeFeed() {
  const listeners = new Map<AuditListener, AuditLostListener | undefined>();
  const feed: AuditFeed = {
    async listen(listener, onLost) {
      listeners.set(listener, onLost);
      return () => void listeners.delete(listener);
    },
    get size() {
      return listeners.size;
    },
    close: async () => {},
  };
  const emit = (event: AuditEvent) => {
    for (const listener of [...listeners.keys()]) listener(event);
  };
  const lose = (cause: unknown) => {
    for (const onLost of [...listeners.values()]) onLost?.(cause);
  };
  return { feed, emit, lose };
}

const allowing = (verdict: () => Verdict = () => 'ok'): SubscriberAccess => ({ check: () => verdict(), invalidate: () => {} });
const filter: AuditFilter = { userId: null, actorId: null, actions: null, outcome: null, since: null, until: null };
const subscriber = { sessionId: 's', userId: 'u' };
let n = 0;
const event = (): AuditEvent => ({
  id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  at: new Date(),
  action: 'user.login',
  outcome: 'SUCCESS',
  actorId: null,
  userId: 'u',
  ip: null,
  userAgent: null,
  metadata: null,
  requestId: null,
});

describe('audit subscription stream', () => {
  it('delivers events in order, and lets go of the listener at once when the client leaves mid-wait', async () => {
    const { feed, emit } = fakeFeed();
    const stream = await openAuditSubscription({ feed, access: allowing() }, subscriber, { filter, cap: 'audit:read' });
    expect(feed.size).toBe(1);
    const [a, b] = [event(), event()];
    emit(a);
    emit(b);
    expect((await stream.next()).value).toBe(a);
    expect((await stream.next()).value).toBe(b);
    const waiting = stream.next();
    await stream.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(feed.size).toBe(0);
  });

  it('lets go of the listener when the client leaves before its first pull', async () => {
    const { feed } = fakeFeed();
    const stream = await openAuditSubscription({ feed, access: allowing() }, subscriber, { filter, cap: 'audit:read' });
    await stream.return?.();
    expect(feed.size).toBe(0);
    expect((await stream.next()).done).toBe(true);
  });

  it(`ends a subscriber more than ${MAX_BACKLOG} events behind with TOO_SLOW, then closes`, async () => {
    const { feed, emit } = fakeFeed();
    const stream = await openAuditSubscription({ feed, access: allowing() }, subscriber, { filter, cap: 'audit:read' });
    for (let i = 0; i <= MAX_BACKLOG; i++) emit(event());
    expect((await stream.next()).value).toEqual({ end: 'TOO_SLOW', cause: undefined });
    expect((await stream.next()).done).toBe(true);
    expect(feed.size).toBe(0);
  });

  it('ends with the verdict of the first failed check, and with UNAVAILABLE when the feed is lost', async () => {
    let verdict: Verdict = 'ok';
    const { feed, emit } = fakeFeed();
    const stream = await openAuditSubscription({ feed, access: allowing(() => verdict) }, subscriber, { filter, cap: 'audit:read' });
    const first = event();
    emit(first);
    expect((await stream.next()).value).toBe(first);
    verdict = 'FORBIDDEN';
    emit(event());
    expect((await stream.next()).value).toEqual({ end: 'FORBIDDEN', cause: undefined });
    expect((await stream.next()).done).toBe(true);
    expect(feed.size).toBe(0);

    const other = fakeFeed();
    const lostStream = await openAuditSubscription({ feed: other.feed, access: allowing() }, subscriber, { filter, cap: 'audit:read' });
    const pending = lostStream.next();
    other.lose(new Error('store down'));
    expect(((await pending).value as { end: string }).end).toBe('UNAVAILABLE');
    expect((await lostStream.next()).done).toBe(true);
    expect(other.feed.size).toBe(0);
  });
});
