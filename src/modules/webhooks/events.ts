import { AUDIT_ACTIONS } from '../audit/actions.js';
import type { AuditEvent } from '../audit/tables.js';
import { BadInputError } from '../../shared/errors.js';

/** The event type of pings: not an audit action (nothing happened), so never in the trail. */
export const TEST_EVENT = 'webhook.test';

const PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$/;

/**
 * An endpoint's event filter, checked against the audit catalogue: exact actions (`user.login`) and
 * prefixes (`user.*`, matching user.login and user.login_failed but not user itself). A name that
 * matches nothing is a typo that would silently deliver nothing: BAD_USER_INPUT.
 */
export function validEvents(events: readonly string[] | null | undefined): string[] {
  const out = [...new Set((events ?? []).map((e) => e.trim()))];
  if (out.length > 100) throw new BadInputError('At most 100 event filters', 'events');
  for (const event of out) {
    const known = event.endsWith('.*') ? AUDIT_ACTIONS.some((a) => a.startsWith(event.slice(0, -1))) : (AUDIT_ACTIONS as readonly string[]).includes(event);
    if (!PATTERN.test(event) || !known)
      throw new BadInputError(`Unknown event "${event.slice(0, 80)}": expected an audit action or a prefix such as user.*`, 'events');
  }
  return out.sort();
}

/** Whether an endpoint with these filters receives `action`; empty means every event. */
export function matchesEvent(filters: readonly string[], action: string): boolean {
  if (!filters.length) return true;
  return filters.some((f) => (f.endsWith('.*') ? action.startsWith(f.slice(0, -1)) : f === action));
}

/** The delivery body: `{type, timestamp, data}` with the AuditEvent fields (metadata already holds no secret). */
export function eventPayload(event: AuditEvent): string {
  const { id, at, action, outcome, actorId, userId, ip, userAgent, metadata, requestId } = event;
  const data = { id, at: at.toISOString(), action, outcome, actorId, userId, ip, userAgent, metadata, requestId };
  return JSON.stringify({ type: action, timestamp: at.toISOString(), data });
}

/** The body of a ping. */
export function testPayload(webhookId: string, at: Date): string {
  return JSON.stringify({ type: TEST_EVENT, timestamp: at.toISOString(), data: { webhookId } });
}
