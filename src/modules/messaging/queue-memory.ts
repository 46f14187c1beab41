import { performance } from 'node:perf_hooks';
import type { ClaimedMessage, MessageQueue, QueuedMessage } from './queue.js';

type Row = QueuedMessage & { attempts: number; status: 'PENDING' | 'FAILED'; dueAt: number; claimedBy: string | null; claimedUntil: number };

/**
 * The queue in process memory, for unit tests of delivery (messaging.test.ts): the same claims
 * and states as the table, lost with the process. Times are monotonic: they schedule work.
 */
export function createMemoryQueue(): MessageQueue {
  const rows = new Map<string, Row>();
  const now = () => performance.now();
  const held = (id: string, owner: string) => {
    const row = rows.get(id);
    return row?.claimedBy === owner ? row : undefined;
  };
  return {
    durable: false,
    async add(message) {
      rows.set(message.id, { ...message, attempts: 0, status: 'PENDING', dueAt: now(), claimedBy: null, claimedUntil: 0 });
    },
    async claim(owner, limit, claimMs) {
      const at = now();
      const due = [...rows.values()]
        .filter((r) => r.status === 'PENDING' && r.dueAt <= at && r.claimedUntil < at)
        .sort((a, b) => a.dueAt - b.dueAt)
        .slice(0, limit);
      return due.map((row): ClaimedMessage => {
        Object.assign(row, { claimedBy: owner, claimedUntil: at + claimMs, attempts: row.attempts + 1 });
        const { id, channel, purpose, userId, payload, attempts } = row;
        return { id, channel, purpose, userId, payload, attempts };
      });
    },
    async done(id, owner) {
      if (held(id, owner)) rows.delete(id);
    },
    async retry(id, owner, delayMs) {
      const row = held(id, owner);
      if (row) Object.assign(row, { claimedBy: null, claimedUntil: 0, dueAt: now() + delayMs });
    },
    async fail(id, owner) {
      const row = held(id, owner);
      if (row) Object.assign(row, { status: 'FAILED', payload: '', claimedBy: null, claimedUntil: 0 });
    },
    async release(owner) {
      for (const row of rows.values()) if (row.claimedBy === owner) Object.assign(row, { claimedBy: null, claimedUntil: 0 });
    },
    async nextDueInMs() {
      const waiting = [...rows.values()].filter((r) => r.status === 'PENDING').map((r) => Math.max(r.dueAt, r.claimedUntil));
      return waiting.length ? Math.min(...waiting) - now() : null;
    },
    async pending(ids) {
      return new Set(ids.filter((id) => rows.get(id)?.status === 'PENDING'));
    },
  };
}
