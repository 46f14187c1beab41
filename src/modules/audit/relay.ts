import { performance } from 'node:perf_hooks';
import type { Db } from '../../db/client.js';
import type { Logger } from '../../shared/logger.js';
import type { Random } from '../../shared/random.js';
import type { Store } from '../../shared/store.js';
import { findOutboxBlocker, readOutbox, transactionHorizon, type OutboxPosition } from './queries.js';
import type { AuditEvent } from './tables.js';

/** The store channel that carries committed audit events to every instance, as JSON. */
export const AUDIT_CHANNEL = 'audit-events';
const LEASE = 'audit-relay';

export type RelayOptions = {
  /** How often the leader reads the outbox while events flow: half of it is the average added latency. @default 25 */
  pollMs?: number;
  /**
   * The slowest it reads after `activeMs` without events, backing off from pollMs: an idle
   * deployment does not query its database 40 times a second. @default 100
   */
  idlePollMs?: number;
  /** @default 2000 */
  activeMs?: number;
  /** The lease's lifetime: how long a crashed leader's successor waits. @default 5000 */
  leaseMs?: number;
  /** How often a follower tries to take the lease, and the leader renews it. @default 1000 */
  leaseCheckMs?: number;
  /** Rows per read and per publish. @default 500 */
  batch?: number;
  /** Warn when committed events wait this long for older transactions to end. @default 10000 */
  heldBackWarnMs?: number;
};

export type AuditRelay = {
  /** Settles after the first attempt to lead: if it led, every row committed from then on is published. */
  readonly ready: Promise<void>;
  /** True while this instance holds the lease and publishes. */
  readonly leading: boolean;
  stop(): Promise<void>;
};

/** Ports only (not Deps: deps.ts holds the live audit, which holds the relay). */
type RelayDeps = { db: Db; store: Store; logger: Logger; random: Random };

export function serializeAuditEvent(event: AuditEvent): string {
  const { id, at, action, outcome, actorId, userId, ip, userAgent, metadata, requestId } = event;
  return JSON.stringify({ id, at: at.toISOString(), action, outcome, actorId, userId, ip, userAgent, metadata, requestId });
}

/**
 * The outbox relay (README "Audit log and live audit events": the table is the outbox). One instance of a
 * deployment holds the `audit-relay` lease and publishes every committed audit row, once, in
 * (transaction, insertion) order, on AUDIT_CHANNEL; the others wait to take over.
 *
 * - Nothing is lost: rows are read after commit from the table, from a position kept in the
 *   store, so a crash between commit and publish only delays them, and a new leader resumes
 *   where the last one stopped (a relay catches up from the table).
 * - Nothing is skipped when transactions commit out of order: readOutbox only returns rows of
 *   transactions that have ended (below pg_snapshot_xmin), so a slow transaction holds later
 *   rows back instead of being passed over; a rolled-back one leaves no row and holds nothing.
 * - Nothing is published twice: the store publishes a batch and saves the new position in one
 *   atomic step, fenced by the lease, so a leader that lost its lease mid-batch publishes
 *   nothing, and after any error the leader re-reads the saved position before going on.
 * The cost: a write transaction that stays open (anywhere on the Postgres server: xids are
 * server-wide) delays live events until it ends. heldBackWarnMs logs when that happens.
 *
 * Its timing (polls, lease checks) runs on the monotonic clock, not deps.clock: it schedules
 * work and decides nothing about a user, and a test that moves deps.clock must not stall it.
 */
export function startAuditRelay(deps: RelayDeps, options: RelayOptions = {}): AuditRelay {
  const { pollMs = 25, idlePollMs = 100, activeMs = 2000, leaseMs = 5000, leaseCheckMs = 1000, batch = 500, heldBackWarnMs = 10_000 } = options;
  const owner = deps.random.uuid();
  const log = deps.logger.child({ component: 'audit-relay', owner });
  // Set while this instance holds the lease: where publishing goes on from.
  let position: OutboxPosition | null = null;
  let leaseCheckedAt = -Infinity;
  let heldBackCheckedAt = performance.now();
  // The transaction id seen holding the outbox back, since when, and whether that was logged.
  let blocker: { xid: string; since: number; warned: boolean } | null = null;
  let lastRowsAt = -Infinity;
  let delay = pollMs;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function resume(): Promise<OutboxPosition> {
    const saved = parsePosition(await deps.store.leases.state(LEASE));
    const { xmin, xmax } = await transactionHorizon(deps.db);
    if (saved && BigInt(saved.tx) <= BigInt(xmax)) return saved;
    // A position past every transaction id means another database (restored, or replaced):
    // it would skip every row from now on. First start: from the transactions still running.
    if (saved) log.warn({ saved: saved.tx, xmax }, 'saved relay position is ahead of the database; starting from now');
    return { tx: xmin, seq: 0 };
  }

  async function holdLease(): Promise<boolean> {
    const now = performance.now();
    if (now - leaseCheckedAt < leaseCheckMs) return position !== null;
    leaseCheckedAt = now;
    if (!(await deps.store.leases.acquire(LEASE, owner, leaseMs))) {
      if (position) log.warn('lost the audit relay lease');
      position = null;
      return false;
    }
    if (!position) {
      position = await resume();
      log.info({ position }, 'audit relay leading');
    }
    return true;
  }

  async function publishCommitted(from: OutboxPosition): Promise<void> {
    let at = from;
    for (;;) {
      const rows = await readOutbox(deps.db, at, batch);
      if (!rows.length) return;
      const last = rows.at(-1)!;
      const next = { tx: last.tx, seq: last.seq };
      lastRowsAt = performance.now();
      const messages = rows.map(serializeAuditEvent);
      if (!(await deps.store.leases.publish(LEASE, owner, { channel: AUDIT_CHANNEL, messages, state: JSON.stringify(next) }))) {
        log.warn('lost the audit relay lease before publishing; nothing published');
        position = null;
        leaseCheckedAt = -Infinity;
        return;
      }
      position = at = next;
      if (rows.length < batch) return;
    }
  }

  /**
   * Sampled every quarter of heldBackWarnMs: a warning when the same transaction has held
   * committed events back for heldBackWarnMs. Busy traffic's short transactions change the
   * blocker between samples, so they never trip it.
   */
  async function warnIfHeldBack(from: OutboxPosition): Promise<void> {
    const now = performance.now();
    if (now - heldBackCheckedAt < heldBackWarnMs / 4) return;
    heldBackCheckedAt = now;
    const xid = await findOutboxBlocker(deps.db, from);
    if (!xid || xid !== blocker?.xid) {
      blocker = xid ? { xid, since: now, warned: false } : null;
    } else if (!blocker.warned && now - blocker.since >= heldBackWarnMs) {
      blocker.warned = true;
      log.warn({ xid, seconds: Math.round((now - blocker.since) / 1000) }, 'live audit events are waiting for a long-running write transaction to end');
    }
  }

  async function tick(): Promise<void> {
    try {
      if (!(await holdLease()) || !position) return;
      await publishCommitted(position);
      if (position) await warnIfHeldBack(position);
    } catch (err) {
      // Whether the last publish went through is unknown (a lost reply): re-read the saved
      // position before publishing again, rather than risk a second copy.
      log.warn({ err }, 'audit relay step failed; retrying');
      position = null;
      leaseCheckedAt = -Infinity;
    }
  }

  const schedule = () => {
    if (stopped) return;
    delay = performance.now() - lastRowsAt < activeMs ? pollMs : Math.min(idlePollMs, delay * 2);
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, delay);
    timer.unref();
  };
  // The first step at once: a first leader starts from the transactions running now, so
  // whatever commits after `ready` is published.
  running = tick().finally(schedule);

  return {
    ready: running,
    get leading() {
      return position !== null;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      // A successor can take over at once instead of waiting for the lease to expire.
      if (position) await deps.store.leases.release(LEASE, owner).catch((err: unknown) => log.warn({ err }, 'audit relay lease release failed'));
      position = null;
    },
  };
}

function parsePosition(text: string | null): OutboxPosition | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as { tx?: unknown; seq?: unknown };
    if (typeof value.tx === 'string' && /^\d+$/.test(value.tx) && Number.isSafeInteger(value.seq)) return { tx: value.tx, seq: value.seq as number };
  } catch {
    // fall through: an unreadable position is a fresh start
  }
  return null;
}
