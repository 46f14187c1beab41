import type { Deps } from '../../deps.js';
import { BadInputError, NotFoundError } from '../../shared/errors.js';
import { clampPageSize, decodeCursor, toPage, type PageInfo } from '../../shared/pagination.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { isUuid } from '../audit/filter.js';
import { recordAudit } from '../audit/service.js';
import { TEST_EVENT, testPayload, validEvents } from './events.js';
import { GuardRefusal } from './guard.js';
import {
  findDelivery,
  findWebhook,
  insertDeliveries,
  insertWebhook,
  listDeliveryRows,
  listWebhookRows,
  removeWebhook,
  requeueDelivery,
  saveWebhook,
  type DeliveryView,
} from './queries.js';
import { newSecret, ROTATION_OVERLAP_MS, sealSecret } from './signing.js';
import type { DeliveryStatus, WebhookRow } from './tables.js';

type ManageDeps = Pick<Deps, 'db' | 'clock' | 'random' | 'webhooks' | 'webhookSecretKey'>;
export type WebhookInput = { url?: string | null; events?: readonly string[] | null; description?: string | null; enabled?: boolean | null };
export type WebhookWithSecret = { webhook: WebhookRow; secret: string };
export type DeliveryPage = { nodes: DeliveryView[]; pageInfo: PageInfo };

/** The URL, checked by the delivery guard now: what it would refuse is BAD_USER_INPUT with its reason. */
async function checkedUrl(deps: ManageDeps, url: string): Promise<string> {
  if (url.length > 2048) throw new BadInputError('The URL is longer than 2048 characters', 'url');
  try {
    return (await deps.webhooks.guard.checkTarget(url.trim())).toString();
  } catch (err) {
    if (err instanceof GuardRefusal) throw new BadInputError(`The URL is refused: ${err.reason}`, 'url');
    throw err;
  }
}

function cleanDescription(value: string | null | undefined): string | null {
  return value?.trim().slice(0, 500) || null;
}

/** What an audit row may say about an endpoint: its origin, never its path or query (they may carry a receiver's token) nor the secret. */
function described(row: WebhookRow) {
  return { webhookId: row.id, origin: new URL(row.url).origin, events: row.events, enabled: row.enabled };
}

async function lockedWebhook(tx: Parameters<typeof findWebhook>[0], id: string): Promise<WebhookRow> {
  const row = isUuid(id) ? await findWebhook(tx, id, true) : null;
  if (!row) throw new NotFoundError('Webhook');
  return row;
}

/** createWebhook: the secret is returned here once and stored only encrypted. */
export async function createWebhook(deps: ManageDeps, actorId: string, input: WebhookInput & { url: string }, meta: RequestMeta): Promise<WebhookWithSecret> {
  const url = await checkedUrl(deps, input.url);
  const events = validEvents(input.events);
  const secret = newSecret(deps.random);
  const now = new Date(deps.clock.now());
  const webhook = await deps.db.transaction(async (tx) => {
    const row = await insertWebhook(tx, {
      id: deps.random.uuid(),
      url,
      description: cleanDescription(input.description),
      events,
      enabled: input.enabled ?? true,
      secretEnc: sealSecret(deps.webhookSecretKey, secret),
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    });
    await recordAudit(deps, tx, { action: 'webhook.created', actorId, userId: null, meta, metadata: described(row) });
    return row;
  });
  return { webhook, secret };
}

/** updateWebhook: enabling clears disabledReason and the failure streak. */
export async function updateWebhook(deps: ManageDeps, actorId: string, id: string, input: WebhookInput, meta: RequestMeta): Promise<WebhookRow> {
  const url = input.url != null ? await checkedUrl(deps, input.url) : undefined;
  const events = input.events != null ? validEvents(input.events) : undefined;
  return deps.db.transaction(async (tx) => {
    const existing = await lockedWebhook(tx, id);
    const enabling = input.enabled === true && !existing.enabled;
    const patch = {
      ...(url !== undefined && { url }),
      ...(events !== undefined && { events }),
      ...(input.description !== undefined && { description: cleanDescription(input.description) }),
      ...(input.enabled != null && { enabled: input.enabled }),
      ...(input.enabled === true && { disabledReason: null, consecutiveFailures: 0 }),
      updatedAt: new Date(deps.clock.now()),
    };
    const row = await saveWebhook(tx, id, patch);
    const fields = Object.keys(input).filter((k) => input[k as keyof WebhookInput] !== undefined);
    await recordAudit(deps, tx, { action: 'webhook.updated', actorId, userId: null, meta, metadata: { ...described(row), fields, reenabled: enabling } });
    return row;
  });
}

export async function deleteWebhook(deps: ManageDeps, actorId: string, id: string, meta: RequestMeta): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const existing = await lockedWebhook(tx, id);
    await removeWebhook(tx, id);
    await recordAudit(deps, tx, { action: 'webhook.deleted', actorId, userId: null, meta, metadata: described(existing) });
    return true;
  });
}

/**
 * A new secret; the old one keeps signing beside it for 24 hours (two signatures in
 * webhook-signature), so a receiver can deploy the new one without dropping deliveries. A secret
 * rotated out earlier than that is dropped now: at most two sign at once.
 */
export async function rotateWebhookSecret(deps: ManageDeps, actorId: string, id: string, meta: RequestMeta): Promise<WebhookWithSecret> {
  const secret = newSecret(deps.random);
  const now = deps.clock.now();
  const webhook = await deps.db.transaction(async (tx) => {
    const existing = await lockedWebhook(tx, id);
    const row = await saveWebhook(tx, id, {
      secretEnc: sealSecret(deps.webhookSecretKey, secret),
      previousSecretEnc: existing.secretEnc,
      previousSecretExpiresAt: new Date(now + ROTATION_OVERLAP_MS),
      updatedAt: new Date(now),
    });
    await recordAudit(deps, tx, {
      action: 'webhook.secret_rotated',
      actorId,
      userId: null,
      meta,
      metadata: { webhookId: id, previousValidUntil: new Date(now + ROTATION_OVERLAP_MS).toISOString() },
    });
    return row;
  });
  return { webhook, secret };
}

/** pingWebhook: a webhook.test delivery, due now (not an audit event: nothing happened). */
export async function pingWebhook(deps: ManageDeps, id: string): Promise<DeliveryView> {
  const hook = isUuid(id) ? await findWebhook(deps.db, id) : null;
  if (!hook) throw new NotFoundError('Webhook');
  const now = new Date(deps.clock.now());
  const deliveryId = deps.random.uuid();
  await insertDeliveries(deps.db, [
    { id: deliveryId, webhookId: id, eventId: null, eventType: TEST_EVENT, payload: testPayload(id, now), nextAttemptAt: now, createdAt: now },
  ]);
  deps.webhooks.wake();
  return (await findDelivery(deps.db, deliveryId))!;
}

/** redeliverWebhook: the same delivery (same webhook-id and body) due again now, with a fresh retry schedule. */
export async function redeliverWebhook(deps: ManageDeps, deliveryId: string): Promise<DeliveryView> {
  const row = isUuid(deliveryId) ? await requeueDelivery(deps.db, deliveryId, new Date(deps.clock.now())) : null;
  if (!row) throw new NotFoundError('Webhook delivery');
  deps.webhooks.wake();
  return row;
}

export function listWebhooks(deps: Pick<Deps, 'db'>): Promise<WebhookRow[]> {
  return listWebhookRows(deps.db);
}

export async function getWebhook(deps: Pick<Deps, 'db'>, id: string): Promise<WebhookRow | null> {
  return isUuid(id) ? findWebhook(deps.db, id) : null;
}

export async function listDeliveries(
  deps: Pick<Deps, 'db'>,
  input: { webhookId: string; status?: DeliveryStatus | null; first?: number | null; after?: string | null },
): Promise<DeliveryPage> {
  const size = clampPageSize(input.first);
  const key = decodeCursor(input.after, 2);
  const after = key ? { at: String(key[0]), id: String(key[1]) } : null;
  if (after && (!isUuid(after.id) || Number.isNaN(Date.parse(after.at)))) throw new BadInputError('Invalid cursor', 'after');
  if (!isUuid(input.webhookId)) return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
  const rows = await listDeliveryRows(deps.db, input.webhookId, { status: input.status, after, limit: size + 1 });
  return toPage(rows, size, (row) => [row.createdAt.toISOString(), row.id]);
}
