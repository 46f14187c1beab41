import type { Deps } from '../../deps.js';
import { readOutbox, transactionHorizon } from '../audit/queries.js';
import { recordAudit } from '../audit/service.js';
import { attemptDelivery } from './attempt.js';
import { matchesEvent, eventPayload } from './events.js';
import { createUrlGuard, type LookupFn } from './guard.js';
import {
  claimDue,
  countFailure,
  enabledWebhooks,
  ensureCursor,
  finishAttempt,
  insertDeliveries,
  pruneDeliveries,
  readCursor,
  releaseClaims,
  resetFailures,
  saveCursor,
  saveWebhook,
  webhooksByIds,
  type ClaimedDelivery,
} from './queries.js';
import type { WebhookRuntime } from './runtime.js';
import { openSecret } from './signing.js';
import type { WebhookRow } from './tables.js';

export type WebhookWorkerOptions = {
  /** How often the worker looks for events and due deliveries while they flow. @default 50 */
  pollMs?: number;
  /** The slowest it looks when idle. @default 500 */
  idlePollMs?: number;
  /** How long a claim holds a delivery: longer than an attempt may take (WEBHOOK_TIMEOUT, at most 30 s). @default 60000 */
  claimMs?: number;
  /** Attempts in flight on this instance. @default 16 */
  concurrency?: number;
  /** DNS for the guard (tests pass a spy). */
  lookup?: LookupFn;
};

type WorkerDeps = Pick<Deps, 'db' | 'clock' | 'random' | 'logger' | 'config' | 'webhookSecretKey'>;

const BATCH = 200;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Starts webhook delivery on this instance. Each step, on every instance:
 * 1. Outbox → deliveries: committed audit rows after the stored cursor, read with the audit relay's
 *    readOutbox (only rows of ended transactions, in commit-safe order; a rolled-back change left no
 *    row), become one `webhook_deliveries` row per matching enabled endpoint, and the cursor moves
 *    in that same transaction: a crash before the commit redoes the batch, after it loses nothing.
 *    The cursor row is locked FOR UPDATE SKIP LOCKED, so one instance at a time does a batch.
 * 2. Due deliveries are claimed (claimDue: FOR UPDATE SKIP LOCKED, expiring claim) and attempted.
 * 3. Now and then, deliveries older than WEBHOOK_RETENTION are deleted.
 * Decisions (due, claim expiry, rotation window, retention) use deps.clock; the polling cadence is
 * real time, like the message worker's.
 */
export async function startWebhookWorker(deps: WorkerDeps, options: WebhookWorkerOptions = {}): Promise<WebhookRuntime> {
  const { pollMs = 50, idlePollMs = 500, claimMs = 60_000, concurrency = 16 } = options;
  const config = deps.config.webhooks;
  const guard = createUrlGuard({ allowed: config.allowedAddresses, httpsOnly: deps.config.isProduction, timeoutMs: config.timeoutMs, lookup: options.lookup });
  const owner = deps.random.uuid();
  const log = deps.logger.child({ component: 'webhooks', owner });
  const aborter = new AbortController();
  const sending = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  let lastWorkAt = -Infinity;
  let prunedAt = -Infinity;
  let delay = pollMs;

  const { xmin } = await transactionHorizon(deps.db);
  await ensureCursor(deps.db, { tx: xmin, seq: 0 });

  /** Turns the audit events after the cursor into deliveries: how many events it read, and how many deliveries they made. */
  async function fanOut(): Promise<{ events: number; deliveries: number }> {
    const none = { events: 0, deliveries: 0 };
    const at = await readCursor(deps.db);
    // A cheap look first: the locking transaction only when there is something to do.
    if (!at || !(await readOutbox(deps.db, at, 1)).length) return none;
    return deps.db.transaction(async (tx) => {
      const from = await readCursor(tx, true);
      if (!from) return none;
      const rows = await readOutbox(tx, from, BATCH);
      const last = rows.at(-1);
      if (!last) return none;
      const hooks = await enabledWebhooks(tx);
      const now = new Date(deps.clock.now());
      const deliveries = rows.flatMap((event) =>
        hooks
          // An endpoint receives what happened from its creation on, not a backlog from before it.
          .filter((hook) => hook.createdAt <= event.at && matchesEvent(hook.events, event.action))
          .map((hook) => ({
            id: deps.random.uuid(),
            webhookId: hook.id,
            eventId: event.id,
            eventType: event.action,
            payload: eventPayload(event),
            nextAttemptAt: now,
            createdAt: now,
          })),
      );
      await insertDeliveries(tx, deliveries);
      await saveCursor(tx, { tx: last.tx, seq: last.seq });
      return { events: rows.length, deliveries: deliveries.length };
    });
  }

  function secretsOf(hook: WebhookRow, now: number): string[] {
    const secrets = [openSecret(deps.webhookSecretKey, hook.secretEnc)];
    if (hook.previousSecretEnc && hook.previousSecretExpiresAt && hook.previousSecretExpiresAt.getTime() > now) {
      secrets.push(openSecret(deps.webhookSecretKey, hook.previousSecretEnc));
    }
    return secrets;
  }

  async function deliver(delivery: ClaimedDelivery, hook: WebhookRow): Promise<void> {
    const at = deps.clock.now();
    const result = await attemptDelivery(guard, {
      url: hook.url,
      secrets: secretsOf(hook, at),
      id: delivery.id,
      body: delivery.payload,
      at: new Date(at),
      timeoutMs: config.timeoutMs,
      signal: aborter.signal,
    });
    const fields = { webhookId: hook.id, deliveryId: delivery.id, event: delivery.eventType, attempt: delivery.attempts, status: result.status };
    if (result.error === 'aborted' && stopped) return;
    await settle(delivery, hook, result, new Date(at));
    if (result.ok) log.debug(fields, 'webhook delivered');
    else log.info({ ...fields, error: result.error }, 'webhook attempt failed');
  }

  async function settle(delivery: ClaimedDelivery, hook: WebhookRow, result: Awaited<ReturnType<typeof attemptDelivery>>, at: Date): Promise<void> {
    const base = { lastAttemptAt: at, responseStatus: result.status, lastError: result.error };
    if (result.ok) {
      if (await finishAttempt(deps.db, delivery.id, owner, { ...base, status: 'SUCCEEDED', nextAttemptAt: null })) await resetFailures(deps.db, hook.id);
      return;
    }
    const wait = config.retryScheduleMs[delivery.attempts - 1];
    if (wait !== undefined) {
      await finishAttempt(deps.db, delivery.id, owner, { ...base, status: 'PENDING', nextAttemptAt: new Date(deps.clock.now() + jitter(wait)) });
      return;
    }
    await deps.db.transaction(async (tx) => {
      if (!(await finishAttempt(tx, delivery.id, owner, { ...base, status: 'FAILED', nextAttemptAt: null }))) return;
      const streak = await countFailure(tx, hook.id);
      if (!streak?.enabled || streak.failures < config.disableAfter) return;
      const reason = `Disabled after ${streak.failures} consecutive failed deliveries`;
      await saveWebhook(tx, hook.id, { enabled: false, disabledReason: reason, updatedAt: new Date(deps.clock.now()) });
      await recordAudit(deps, tx, {
        action: 'webhook.disabled',
        actorId: null,
        userId: null,
        meta: { requestId: `webhook-worker.${delivery.id}`, ip: null, userAgent: null },
        metadata: { webhookId: hook.id, failures: streak.failures },
      });
      log.warn({ webhookId: hook.id, failures: streak.failures }, 'webhook endpoint disabled');
    });
  }

  /** ±10% (AWS "backoff and jitter"): retries of many deliveries failing together spread out. */
  function jitter(ms: number): number {
    const unit = deps.random.bytes(4).readUInt32BE() / 2 ** 32;
    return Math.round(ms * (0.9 + 0.2 * unit));
  }

  async function claimAndSend(): Promise<number> {
    let claimed = 0;
    while (!stopped && sending.size < concurrency) {
      const now = deps.clock.now();
      const rows = await claimDue(deps.db, owner, new Date(now), new Date(now + claimMs), concurrency - sending.size);
      if (!rows.length) break;
      claimed += rows.length;
      const hooks = new Map((await webhooksByIds(deps.db, [...new Set(rows.map((r) => r.webhookId))])).map((h) => [h.id, h]));
      for (const row of rows) {
        const hook = hooks.get(row.webhookId);
        if (!hook) continue; // deleted meanwhile: its deliveries went with it
        const send: Promise<void> = deliver(row, hook)
          .catch((err: unknown) => log.warn({ err, deliveryId: row.id }, 'webhook delivery update failed; the claim expires'))
          .finally(() => {
            sending.delete(send);
            schedule(0);
          });
        sending.add(send);
      }
    }
    return claimed;
  }

  async function prune(): Promise<void> {
    const now = deps.clock.now();
    if (now - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now;
    const removed = await pruneDeliveries(deps.db, new Date(now - config.retentionMs));
    if (removed) log.info({ removed }, 'old webhook deliveries pruned');
  }

  async function step(): Promise<void> {
    try {
      const fanned = await fanOut();
      // A full batch means a backlog (say, the audit rows of a busy hour before the first
      // endpoint): read on at once instead of one batch per poll.
      if (fanned.events >= BATCH) again = true;
      // Only deliveries keep the fast poll: events no endpoint wants (every event, while there is
      // none) move the cursor at the idle pace, instead of ten steps a second of a busy sign-in hour.
      const work = fanned.deliveries + (await claimAndSend());
      if (work) lastWorkAt = performance.now();
      await prune();
    } catch (err) {
      log.warn({ err }, 'webhook step failed; retrying');
    }
  }

  function run(): void {
    running = (async () => {
      do {
        again = false;
        await step();
      } while (again && !stopped);
      running = null;
      if (stopped) return;
      delay = performance.now() - lastWorkAt < 2000 ? pollMs : Math.min(idlePollMs, delay * 2);
      schedule(delay);
    })();
  }

  function schedule(ms: number): void {
    if (stopped) return;
    if (running) {
      if (ms === 0) again = true;
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(run, ms);
    timer.unref();
  }

  run();

  return {
    guard,
    wake: () => schedule(0),
    async stop({ release = true } = {}) {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      aborter.abort();
      await running;
      await Promise.all([...sending]);
      if (release) await releaseClaims(deps.db, owner).catch((err: unknown) => log.warn({ err }, 'webhook claims not released; they expire'));
      await guard.close().catch(() => undefined);
    },
  };
}
