import { and, desc, eq, inArray, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import type { OutboxPosition } from '../audit/queries.js';
import { webhookCursor as c, webhookDeliveries as d, webhooks as w, type DeliveryStatus, type WebhookDeliveryRow, type WebhookRow } from './tables.js';

export type NewWebhook = typeof w.$inferInsert;
export type NewDelivery = typeof d.$inferInsert;
/** A delivery as the API shows it (no payload). */
export type DeliveryView = Omit<WebhookDeliveryRow, 'payload' | 'claimedBy' | 'claimedUntil' | 'lastError'>;

const view = {
  id: d.id,
  webhookId: d.webhookId,
  eventId: d.eventId,
  eventType: d.eventType,
  status: d.status,
  attempts: d.attempts,
  nextAttemptAt: d.nextAttemptAt,
  lastAttemptAt: d.lastAttemptAt,
  responseStatus: d.responseStatus,
  createdAt: d.createdAt,
};

export async function insertWebhook(db: DbOrTx, row: NewWebhook): Promise<WebhookRow> {
  const [created] = await db.insert(w).values(row).returning();
  return created!;
}

export async function findWebhook(db: DbOrTx, id: string, lock = false): Promise<WebhookRow | null> {
  const query = db.select().from(w).where(eq(w.id, id));
  const [row] = lock ? await query.for('update') : await query;
  return row ?? null;
}

export function listWebhookRows(db: DbOrTx): Promise<WebhookRow[]> {
  return db.select().from(w).orderBy(w.createdAt, w.id);
}

export async function saveWebhook(db: DbOrTx, id: string, patch: Partial<NewWebhook>): Promise<WebhookRow> {
  const [row] = await db.update(w).set(patch).where(eq(w.id, id)).returning();
  return row!;
}

export async function removeWebhook(db: DbOrTx, id: string): Promise<void> {
  await db.delete(w).where(eq(w.id, id));
}

/** The enabled endpoints, for matching events (a handful of rows; read once per outbox batch). */
export function enabledWebhooks(db: DbOrTx): Promise<Array<Pick<WebhookRow, 'id' | 'events' | 'createdAt'>>> {
  return db.select({ id: w.id, events: w.events, createdAt: w.createdAt }).from(w).where(eq(w.enabled, true));
}

export async function insertDeliveries(db: DbOrTx, rows: NewDelivery[]): Promise<void> {
  if (rows.length) await db.insert(d).values(rows);
}

export async function findDelivery(db: DbOrTx, id: string): Promise<DeliveryView | null> {
  const [row] = await db.select(view).from(d).where(eq(d.id, id));
  return row ?? null;
}

/** A page of an endpoint's deliveries, newest first, keyset over (created_at, id). */
export function listDeliveryRows(
  db: DbOrTx,
  webhookId: string,
  filter: { status?: DeliveryStatus | null; after: { at: string; id: string } | null; limit: number },
): Promise<DeliveryView[]> {
  const where: Array<SQL | undefined> = [
    eq(d.webhookId, webhookId),
    filter.status ? eq(d.status, filter.status) : undefined,
    filter.after ? sql`(${d.createdAt}, ${d.id}) < (${filter.after.at}::timestamptz, ${filter.after.id}::uuid)` : undefined,
  ];
  return db
    .select(view)
    .from(d)
    .where(and(...where))
    .orderBy(desc(d.createdAt), desc(d.id))
    .limit(filter.limit);
}

/** Due again at `now`, as a fresh delivery (attempts from 0), same id and body. */
export async function requeueDelivery(db: DbOrTx, id: string, now: Date): Promise<DeliveryView | null> {
  const [row] = await db.update(d).set({ status: 'PENDING', attempts: 0, nextAttemptAt: now }).where(eq(d.id, id)).returning(view);
  return row ?? null;
}

// ---------------------------------------------------------------- the outbox cursor

const CURSOR_ID = 1;

export async function readCursor(db: DbOrTx, lock = false): Promise<OutboxPosition | null> {
  const query = db.select({ tx: c.tx, seq: c.seq }).from(c).where(eq(c.id, CURSOR_ID));
  // SKIP LOCKED: while one instance turns a batch into deliveries, the others skip the step.
  const [row] = lock ? await query.for('update', { skipLocked: true }) : await query;
  return row ?? null;
}

/** The first instance to start writes the starting position; later ones keep it. */
export async function ensureCursor(db: DbOrTx, at: OutboxPosition): Promise<void> {
  await db.insert(c).values({ id: CURSOR_ID, tx: at.tx, seq: at.seq }).onConflictDoNothing();
}

export async function saveCursor(db: DbOrTx, at: OutboxPosition): Promise<void> {
  await db.update(c).set({ tx: at.tx, seq: at.seq }).where(eq(c.id, CURSOR_ID));
}

// ---------------------------------------------------------------- the worker

export type ClaimedDelivery = Pick<WebhookDeliveryRow, 'id' | 'webhookId' | 'eventType' | 'payload' | 'attempts'>;

/**
 * Up to `limit` due deliveries of enabled endpoints that nobody holds (or whose claim expired),
 * claimed by `owner` until `until`: FOR UPDATE SKIP LOCKED, so two workers claiming at once get
 * different rows. `attempts` counts claims, so a delivery that kills its worker is not retried forever.
 */
export async function claimDue(db: DbOrTx, owner: string, now: Date, until: Date, limit: number): Promise<ClaimedDelivery[]> {
  const due = db
    .select({ id: d.id })
    .from(d)
    .where(
      and(
        eq(d.status, 'PENDING'),
        lte(d.nextAttemptAt, now),
        or(isNull(d.claimedUntil), lt(d.claimedUntil, now)),
        sql`exists (select 1 from ${w} where ${w.id} = ${d.webhookId} and ${w.enabled})`,
      ),
    )
    .orderBy(d.nextAttemptAt)
    .limit(limit)
    .for('update', { skipLocked: true });
  return db
    .update(d)
    .set({ claimedBy: owner, claimedUntil: until, attempts: sql`${d.attempts} + 1` })
    .where(inArray(d.id, due))
    .returning({ id: d.id, webhookId: d.webhookId, eventType: d.eventType, payload: d.payload, attempts: d.attempts });
}

export function webhooksByIds(db: DbOrTx, ids: string[]): Promise<WebhookRow[]> {
  return ids.length ? db.select().from(w).where(inArray(w.id, ids)) : Promise.resolve([]);
}

/**
 * Records an attempt's outcome, only while `owner` still holds the claim: a worker whose claim
 * expired (and another took the row) changes nothing. Returns whether it held the claim.
 */
export async function finishAttempt(
  db: DbOrTx,
  id: string,
  owner: string,
  outcome: Pick<WebhookDeliveryRow, 'status' | 'nextAttemptAt' | 'lastAttemptAt' | 'responseStatus' | 'lastError'>,
): Promise<boolean> {
  const rows = await db
    .update(d)
    .set({ ...outcome, claimedBy: null, claimedUntil: null })
    .where(and(eq(d.id, id), eq(d.claimedBy, owner)))
    .returning({ id: d.id });
  return rows.length > 0;
}

/** A FAILED delivery: one more in the endpoint's streak; returns the streak and whether it is still enabled. */
export async function countFailure(db: DbOrTx, webhookId: string): Promise<{ failures: number; enabled: boolean } | null> {
  const [row] = await db
    .update(w)
    .set({ consecutiveFailures: sql`${w.consecutiveFailures} + 1` })
    .where(eq(w.id, webhookId))
    .returning({ failures: w.consecutiveFailures, enabled: w.enabled });
  return row ?? null;
}

export async function resetFailures(db: DbOrTx, webhookId: string): Promise<void> {
  await db
    .update(w)
    .set({ consecutiveFailures: 0 })
    .where(and(eq(w.id, webhookId), sql`${w.consecutiveFailures} <> 0`));
}

/** Claims `owner` holds on PENDING rows, dropped (a worker shutting down): others may take them at once. */
export async function releaseClaims(db: DbOrTx, owner: string): Promise<void> {
  await db
    .update(d)
    .set({ claimedBy: null, claimedUntil: null })
    .where(and(eq(d.claimedBy, owner), eq(d.status, 'PENDING')));
}

/** Deletes deliveries created before `before` (WEBHOOK_RETENTION); returns how many. */
export async function pruneDeliveries(db: DbOrTx, before: Date): Promise<number> {
  const rows = await db.delete(d).where(lt(d.createdAt, before)).returning({ id: d.id });
  return rows.length;
}
