import type { DbOrTx } from '../../db/client.js';
import type { Deps } from '../../deps.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import type { AuditAction } from './actions.js';
import { auditEvents, type AuditEventRow } from './tables.js';

export type AuditInput = {
  action: AuditAction;
  outcome?: 'SUCCESS' | 'FAILURE';
  /** Who acted; defaults to `userId` (a user acting on their own account). Null for anonymous attempts. */
  actorId?: string | null;
  userId?: string | null;
  meta: RequestMeta;
  metadata?: Record<string, unknown>;
};

/**
 * Keys that could carry a secret are dropped, at any depth: metadata never holds a password,
 * code, token or hash (ASVS 5.0 V16.2.5), even when a caller passes one by mistake.
 */
const SECRET_FIELD = /pass(word)?|secret|token|code|hash|otp|credential|authorization|cookie/i;

export function sanitizeMetadata(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sanitizeMetadata);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !SECRET_FIELD.test(key))
        .map(([key, v]) => [key, sanitizeMetadata(v)]),
    );
  }
  return value;
}

/**
 * Writes one audit row. Call it with the transaction of the change it records, so the row
 * exists exactly when the change does; the table is also the outbox for live delivery.
 */
export async function recordAudit(deps: Pick<Deps, 'clock' | 'random'>, db: DbOrTx, input: AuditInput): Promise<AuditEventRow> {
  const row = {
    id: deps.random.uuid(),
    at: new Date(deps.clock.now()),
    action: input.action,
    outcome: input.outcome ?? 'SUCCESS',
    actorId: input.actorId === undefined ? (input.userId ?? null) : input.actorId,
    userId: input.userId ?? null,
    ip: input.meta.ip,
    userAgent: input.meta.userAgent?.slice(0, 512) ?? null,
    metadata: input.metadata ? (sanitizeMetadata(input.metadata) as Record<string, unknown>) : null,
  } as const;
  await db.insert(auditEvents).values(row);
  return row;
}
