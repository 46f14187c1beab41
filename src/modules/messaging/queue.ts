import { and, eq, inArray, isNull, lte, lt, or, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { decrypt, encrypt } from '../../shared/crypto.js';
import { outboundMessages as m, type MessageChannel } from './tables.js';

/** A message as the queue holds it: `payload` is the rendered message as JSON. */
export type QueuedMessage = { id: string; channel: MessageChannel; purpose: string; userId: string | null; payload: string };
/** A claimed message: `attempts` counts this claim too. */
export type ClaimedMessage = QueuedMessage & { attempts: number };

/**
 * Where outbound messages wait (delivery.ts runs the worker). Every change after `claim` names
 * the claiming worker and does nothing once another one holds the row (its claim expired).
 */
export type MessageQueue = {
  /** true: rows outlive the process (Postgres, PGlite); false: in memory (unit tests). */
  readonly durable: boolean;
  /** Inserts with `db` when given (the caller's transaction), else on the queue's own handle. */
  add(message: QueuedMessage, db?: DbOrTx): Promise<void>;
  /** Up to `limit` due messages nobody holds, claimed by `owner` for `claimMs`. */
  claim(owner: string, limit: number, claimMs: number): Promise<ClaimedMessage[]>;
  /** Delivered: the row (and the secret in it) is deleted. */
  done(id: string, owner: string): Promise<void>;
  /** Failed for now: due again in `delayMs`, claim released. */
  retry(id: string, owner: string, delayMs: number, error: string): Promise<void>;
  /** Given up: FAILED, payload wiped; the row stays for inspection. */
  fail(id: string, owner: string, error: string): Promise<void>;
  /** Drops every claim `owner` holds (a worker shutting down): others may take the rows at once. */
  release(owner: string): Promise<void>;
  /** Milliseconds until the next message is due or a claim expires; null when nothing waits. */
  nextDueInMs(): Promise<number | null>;
  /** Which of `ids` are still waiting (PENDING). */
  pending(ids: string[]): Promise<Set<string>>;
};

const ms = (value: number) => sql`make_interval(secs => ${value / 1000})`;

/**
 * The queue in the `outbound_messages` table, on Postgres or PGlite. The payload is encrypted
 * with `key` (derived from SECRET_KEY) before it is written, and decrypted only when claimed.
 * Claims use `FOR UPDATE SKIP LOCKED`: two workers claiming at once get different rows, and a
 * claim expires, so a crashed worker's rows go to another instance. Delivery is at least once:
 * a worker that sends and dies before `done` leaves a row that is sent again after its claim.
 */
export function createPostgresQueue(db: Db, key: Buffer): MessageQueue {
  const held = (id: string, owner: string) => and(eq(m.id, id), eq(m.claimedBy, owner));
  return {
    durable: true,
    async add(message, tx = db) {
      const { payload, ...rest } = message;
      await tx.insert(m).values({ ...rest, payloadEnc: encrypt(key, payload) });
    },
    async claim(owner, limit, claimMs) {
      const due = db
        .select({ id: m.id })
        .from(m)
        .where(and(eq(m.status, 'PENDING'), lte(m.nextAttemptAt, sql`now()`), or(isNull(m.claimedUntil), lt(m.claimedUntil, sql`now()`))))
        .orderBy(m.nextAttemptAt)
        .limit(limit)
        .for('update', { skipLocked: true });
      const rows = await db
        .update(m)
        .set({ claimedBy: owner, claimedUntil: sql`now() + ${ms(claimMs)}`, attempts: sql`${m.attempts} + 1` })
        .where(inArray(m.id, due))
        .returning({ id: m.id, channel: m.channel, purpose: m.purpose, userId: m.userId, payloadEnc: m.payloadEnc, attempts: m.attempts });
      return rows.map(({ payloadEnc, ...row }) => ({ ...row, payload: decrypt(key, payloadEnc ?? '') }));
    },
    async done(id, owner) {
      await db.delete(m).where(held(id, owner));
    },
    async retry(id, owner, delayMs, error) {
      await db
        .update(m)
        .set({ claimedBy: null, claimedUntil: null, nextAttemptAt: sql`now() + ${ms(delayMs)}`, lastError: error })
        .where(held(id, owner));
    },
    async fail(id, owner, error) {
      await db.update(m).set({ status: 'FAILED', payloadEnc: null, claimedBy: null, claimedUntil: null, lastError: error }).where(held(id, owner));
    },
    async release(owner) {
      await db
        .update(m)
        .set({ claimedBy: null, claimedUntil: null })
        .where(and(eq(m.claimedBy, owner), eq(m.status, 'PENDING')));
    },
    async nextDueInMs() {
      const [row] = await db
        .select({
          due: sql<
            number | null
          >`extract(epoch from min(greatest(${m.nextAttemptAt}, coalesce(${m.claimedUntil}, ${m.nextAttemptAt}))) - now()) * 1000`.mapWith((v) =>
            v === null ? null : Number(v),
          ),
        })
        .from(m)
        .where(eq(m.status, 'PENDING'));
      return row?.due ?? null;
    },
    async pending(ids) {
      if (!ids.length) return new Set();
      const rows = await db
        .select({ id: m.id })
        .from(m)
        .where(and(inArray(m.id, ids), eq(m.status, 'PENDING')));
      return new Set(rows.map((r) => r.id));
    },
  };
}
