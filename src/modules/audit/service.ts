import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import type { AlongsideInsert } from '../../db/prepared.js';
import type { Deps } from '../../deps.js';
import { clampPageSize, decodeCursor, toPage, type PageInfo } from '../../shared/pagination.js';
import { BadInputError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import type { AuditAction } from './actions.js';
import { isUuid, matchesNothing, parseAuditFilter, type AuditFilterInput } from './filter.js';
import { listAuditEvents, type AuditCursor } from './queries.js';
import { auditEvents, type AuditEvent } from './tables.js';

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
export async function recordAudit(deps: Pick<Deps, 'clock' | 'random'>, db: DbOrTx, input: AuditInput): Promise<AuditEvent> {
  const row = auditRow(deps, input);
  await db.insert(auditEvents).values(row);
  return row;
}

/** The row recordAudit writes, built without writing it. */
export function auditRow(deps: Pick<Deps, 'clock' | 'random'>, input: AuditInput): AuditEvent {
  return {
    id: deps.random.uuid(),
    at: new Date(deps.clock.now()),
    action: input.action,
    outcome: input.outcome ?? 'SUCCESS',
    actorId: input.actorId === undefined ? (input.userId ?? null) : input.actorId,
    userId: input.userId ?? null,
    ip: input.meta.ip,
    userAgent: input.meta.userAgent?.slice(0, 512) ?? null,
    metadata: input.metadata ? (sanitizeMetadata(input.metadata) as Record<string, unknown>) : null,
    // Sanitised where it is made (use-request-id.ts: at most 64 of [A-Za-z0-9._-]).
    requestId: input.meta.requestId.slice(0, 64),
  };
}

/**
 * An insert of audit rows for a write that records its audit in the same statement
 * (users/queries.ts updateUserWith), so the rows exist exactly when the change does. Given as
 * a statement of placeholders (`build`: the same for the same number of rows, so it is built
 * and prepared once) and their values.
 */
export function auditInsert(deps: Pick<Deps, 'clock' | 'random'>, inputs: readonly AuditInput[]): AlongsideInsert {
  const rows = inputs.map((input) => auditRow(deps, input));
  const values: Record<string, unknown> = {};
  rows.forEach((row, i) => {
    for (const [column, value] of Object.entries(row)) values[`audit${i}_${column}`] = value;
    // Given to the driver as text and cast in SQL: a null stays SQL NULL (drizzle's jsonb
    // encoder, which a placeholder goes through, would make it the JSON value null).
    values[`audit${i}_metadata`] = row.metadata === null ? null : JSON.stringify(row.metadata);
  });
  const placeholder = (i: number, column: keyof AuditEvent) => sql.placeholder(`audit${i}_${column}`);
  return {
    shape: `audit${rows.length}`,
    build: (db) =>
      db.insert(auditEvents).values(
        rows.map((_, i) => ({
          id: placeholder(i, 'id'),
          at: placeholder(i, 'at'),
          action: placeholder(i, 'action'),
          outcome: placeholder(i, 'outcome'),
          actorId: placeholder(i, 'actorId'),
          userId: placeholder(i, 'userId'),
          ip: placeholder(i, 'ip'),
          userAgent: placeholder(i, 'userAgent'),
          metadata: sql`${placeholder(i, 'metadata')}::jsonb`,
          requestId: placeholder(i, 'requestId'),
        })),
      ),
    values,
  };
}

/** The caller of auditLogs: who asks, and whether they hold `audit:read`. */
export type AuditReader = { userId: string; caps: readonly string[] };

export type AuditPage = { nodes: AuditEvent[]; pageInfo: PageInfo };

/**
 * auditLogs: with `audit:read`, every event the filter matches; without it, only events about the
 * caller (`userId` is the caller). A filter naming another user then matches nothing, answered
 * as an empty page, as for a user without events: a FORBIDDEN there would add nothing for the
 * caller, and an empty page is what "your own events, filtered" means.
 */
export async function listAuditLogs(
  deps: Pick<Deps, 'db'>,
  reader: AuditReader,
  input: { filter?: AuditFilterInput | null; first?: number | null; after?: string | null },
): Promise<AuditPage> {
  const size = clampPageSize(input.first);
  const after = parseCursor(input.after);
  const filter = parseAuditFilter(input.filter);
  if (!reader.caps.includes('audit:read')) {
    if (filter.userId && filter.userId !== reader.userId) return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
    filter.userId = reader.userId;
  }
  if (matchesNothing(filter)) return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
  const rows = await listAuditEvents(deps.db, filter, { after, limit: size + 1 });
  const page = toPage(rows, size, (row) => [row.cursorAt, row.id]);
  return { nodes: page.nodes.map(({ cursorAt: _, ...event }) => event), pageInfo: page.pageInfo };
}

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function parseCursor(after: string | null | undefined): AuditCursor | null {
  const key = decodeCursor(after, 2);
  if (!key) return null;
  const [at, id] = key;
  // Checked before it reaches SQL: a cursor is client input, and a bad cast would mask to a 500.
  if (typeof at !== 'string' || typeof id !== 'string' || !CURSOR_AT.test(at) || !isUuid(id)) throw new BadInputError('Invalid cursor', 'after');
  return { at, id };
}
