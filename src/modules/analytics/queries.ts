import type { DbOrTx } from '../../db/client.js';
import type { AuditAction } from '../audit/actions.js';
import { countAuditActions } from '../audit/queries.js';

/** The audit actions analytics counts, by the Analytics field that reports them. */
export const COUNTED_ACTIONS = {
  registrations: 'user.registered',
  loginsSucceeded: 'user.login',
  loginsFailed: 'user.login_failed',
  mfaChallengesSucceeded: 'mfa.challenge_succeeded',
  mfaChallengesFailed: 'mfa.challenge_failed',
} as const satisfies Record<string, AuditAction>;

export type SecurityCounts = Record<keyof typeof COUNTED_ACTIONS, number>;

/** Counts the audit events of COUNTED_ACTIONS at [since, until), in one query (audit/queries.ts countAuditActions). */
export async function countSecurityEvents(db: DbOrTx, since: Date, until: Date): Promise<SecurityCounts> {
  const counts = await countAuditActions(db, Object.values(COUNTED_ACTIONS), since, until);
  const entries = Object.entries(COUNTED_ACTIONS).map(([field, action]) => [field, counts.get(action) ?? 0]);
  return Object.fromEntries(entries) as SecurityCounts;
}
