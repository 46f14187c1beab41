import type { Deps } from '../../deps.js';
import { BadInputError } from '../../shared/errors.js';
import { readLatency, type OperationLatency } from './latency.js';
import { countSecurityEvents, type SecurityCounts } from './queries.js';

const HOUR_MS = 3_600_000;
/** The window when `since` is omitted: the 24 hours before `until`. */
export const DEFAULT_WINDOW_MS = 24 * HOUR_MS;
/** The longest window: counting scans the (action, at) index over it, and latency is kept 92 days. */
export const MAX_WINDOW_MS = 90 * 24 * HOUR_MS;

/** A window of analytics; each part is read when first asked for, so a query pays only for what it selects. */
export type Analytics = {
  since: Date;
  until: Date;
  counts(): Promise<SecurityCounts>;
  latency(): Promise<OperationLatency[]>;
};

/** [since, until): `until` defaults to now, `since` to 24 hours before `until`; at most 90 days. */
export function resolveAnalyticsWindow(deps: Pick<Deps, 'clock'>, input: { since?: Date | null; until?: Date | null }): { since: Date; until: Date } {
  const until = input.until ?? new Date(deps.clock.now());
  const since = input.since ?? new Date(until.getTime() - DEFAULT_WINDOW_MS);
  if (since.getTime() > until.getTime()) throw new BadInputError('since must not be after until', 'since');
  if (until.getTime() - since.getTime() > MAX_WINDOW_MS) throw new BadInputError('The window may span at most 90 days', 'since');
  return { since, until };
}

/** Security event counts from the audit trail and latency per operation from the histograms, over one window. */
export function getAnalytics(deps: Pick<Deps, 'clock' | 'db' | 'store' | 'latency'>, input: { since?: Date | null; until?: Date | null }): Analytics {
  const { since, until } = resolveAnalyticsWindow(deps, input);
  let counts: Promise<SecurityCounts> | undefined;
  let latency: Promise<OperationLatency[]> | undefined;
  return {
    since,
    until,
    counts: () => (counts ??= countSecurityEvents(deps.db, since, until)),
    latency: () =>
      (latency ??= (async () => {
        // This instance's buffer first, so one instance answers with everything up to now;
        // the others' last seconds arrive with their next flush (every 2 s).
        await deps.latency.flush();
        return readLatency(deps.store.histograms, since.getTime(), until.getTime());
      })()),
  };
}
