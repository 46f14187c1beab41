import { and, gte, inArray, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import type { AuditAction } from '../audit/actions.js';
import { auditEvents } from '../audit/tables.js';

/** The audit actions analytics counts, by the Analytics field that reports them. */
export const COUNTED_ACTIONS = {
  registrations: 'user.registered',
  loginsSucceeded: 'user.login',
  loginsFailed: 'user.login_failed',
  mfaChallengesSucceeded: 'mfa.challenge_succeeded',
  mfaChallengesFailed: 'mfa.challenge_failed',
} as const satisfies Record<string, AuditAction>;

export type SecurityCounts = Record<keyof typeof COUNTED_ACTIONS, number>;

const countOf = (action: AuditAction) => sql<number>`count(*) filter (where ${auditEvents.action} = ${action})`.mapWith(Number);

/**
 * Counts the audit events of COUNTED_ACTIONS at [since, until), in one query. `action IN (...)`
 * with the time range is what audit_events_action_at_idx (action, at) serves: one index range per
 * action, whatever the rest of the trail holds.
 */
export async function countSecurityEvents(db: DbOrTx, since: Date, until: Date): Promise<SecurityCounts> {
  const a = COUNTED_ACTIONS;
  const [row] = await db
    .select({
      registrations: countOf(a.registrations),
      loginsSucceeded: countOf(a.loginsSucceeded),
      loginsFailed: countOf(a.loginsFailed),
      mfaChallengesSucceeded: countOf(a.mfaChallengesSucceeded),
      mfaChallengesFailed: countOf(a.mfaChallengesFailed),
    })
    .from(auditEvents)
    .where(and(inArray(auditEvents.action, Object.values(a)), gte(auditEvents.at, since), lt(auditEvents.at, until)));
  return row ?? { registrations: 0, loginsSucceeded: 0, loginsFailed: 0, mfaChallengesSucceeded: 0, mfaChallengesFailed: 0 };
}
