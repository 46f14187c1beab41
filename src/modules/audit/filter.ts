import { BadInputError } from '../../shared/errors.js';
import { AUDIT_ACTIONS, type AuditAction } from './actions.js';
import type { AuditEvent } from './tables.js';

export type AuditOutcome = 'SUCCESS' | 'FAILURE';

/** The AuditFilter input as GraphQL hands it over: every field optional and nullable. */
export type AuditFilterInput = {
  userId?: string | number | null;
  actorId?: string | number | null;
  actions?: readonly string[] | null;
  outcome?: AuditOutcome | null;
  since?: Date | null;
  until?: Date | null;
};

/** A checked filter: null means "any". `since` is inclusive, `until` exclusive. */
export type AuditFilter = {
  userId: string | null;
  actorId: string | null;
  actions: AuditAction[] | null;
  outcome: AuditOutcome | null;
  since: Date | null;
  until: Date | null;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KNOWN_ACTIONS: ReadonlySet<string> = new Set(AUDIT_ACTIONS);

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

function idField(value: string | number | null | undefined, field: string): string | null {
  if (value == null) return null;
  const id = String(value);
  // Checked here: the database would refuse a malformed uuid with an error that masks to a 500.
  if (!isUuid(id)) throw new BadInputError(`${field} must be a UUID`, `filter.${field}`);
  return id.toLowerCase();
}

/**
 * Validates an AuditFilter. Unknown action names are refused (BAD_USER_INPUT, naming the field),
 * not silently matched against nothing: a typo would otherwise look like a quiet audit trail.
 * An empty `actions` list matches no event, as an empty set does.
 */
export function parseAuditFilter(input: AuditFilterInput | null | undefined): AuditFilter {
  const unknown = input?.actions?.find((action) => !KNOWN_ACTIONS.has(action));
  if (unknown !== undefined) throw new BadInputError(`Unknown audit action: ${unknown.slice(0, 64)}`, 'filter.actions');
  return {
    userId: idField(input?.userId, 'userId'),
    actorId: idField(input?.actorId, 'actorId'),
    actions: input?.actions ? ([...new Set(input.actions)] as AuditAction[]) : null,
    outcome: input?.outcome ?? null,
    since: input?.since ?? null,
    until: input?.until ?? null,
  };
}

/** True when no event can match (an empty action list, or an empty time range). */
export function matchesNothing(filter: AuditFilter): boolean {
  return filter.actions?.length === 0 || (!!filter.since && !!filter.until && filter.since >= filter.until);
}

/** The filter applied to one event in memory: what the subscription does for every published event. */
export function matchesAuditFilter(event: AuditEvent, filter: AuditFilter): boolean {
  if (filter.userId && event.userId !== filter.userId) return false;
  if (filter.actorId && event.actorId !== filter.actorId) return false;
  if (filter.actions && !filter.actions.includes(event.action as AuditAction)) return false;
  if (filter.outcome && event.outcome !== filter.outcome) return false;
  if (filter.since && event.at < filter.since) return false;
  if (filter.until && event.at >= filter.until) return false;
  return true;
}
