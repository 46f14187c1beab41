/** One row of the results table. Latencies in milliseconds. */
export type Measurement = {
  connections: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Completed requests (or argon2 verifications). */
  total: number;
  non2xx: number;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
  /** 2xx responses whose body was not the expected data (a GraphQL error, say). */
  badBodies: number;
  /** Answers that were the expected refusal of an overload run (RATE_LIMITED, busy); included in reqPerSec. */
  refused?: number;
};

/** What went wrong in a run, as counts; 0 when every response was a 2xx with the expected data. */
export function failures(m: Measurement): number {
  return m.non2xx + m.errors + m.badBodies;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
