import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { HistogramStore } from '../../shared/store.js';

/**
 * Latency histograms per GraphQL operation, aggregated across instances.
 *
 * Each instance counts operations into fixed log-spaced buckets in memory, per minute, and every
 * couple of seconds adds its counts to the store: one hash per minute and one per hour, a field
 * per (operation, bucket), so adds from any number of instances sum exactly (HINCRBY) and a
 * window is read with one HGETALL per slot: whole hours from the hour hashes, the ragged edges
 * from the minute hashes. Percentiles come from the summed bucket counts.
 */

const BASE_MS = 0.5;
const PER_DOUBLING = 4;
/**
 * Upper bounds of the buckets in ms: 0.5 ms × 2^(i/4), i = 0..64, so 0.5 ms to 32.8 s, each bucket
 * about 19% wider than the one before (a percentile is off by less than that). One more bucket
 * counts everything slower, and reports as the last bound.
 */
export const BUCKET_BOUNDS_MS: readonly number[] = Array.from({ length: 65 }, (_, i) => BASE_MS * 2 ** (i / PER_DOUBLING));
const OVERFLOW = BUCKET_BOUNDS_MS.length;
const BUCKETS = OVERFLOW + 1;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Minute hashes are kept 8 days: minute resolution for the last week. */
export const MINUTE_RETENTION_MS = 8 * DAY_MS;
/** Hour hashes are kept 92 days, past the longest window analytics accepts (90 days). */
export const HOUR_RETENTION_MS = 92 * DAY_MS;

const minuteKey = (minute: number) => `lat:m:${minute}`;
const hourKey = (hour: number) => `lat:h:${hour}`;

/** The bucket of a duration: the first whose upper bound is at least `ms`. */
export function findBucket(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  // The epsilon keeps a duration equal to a bound (after floating-point rounding) in that bucket.
  const i = Math.ceil(PER_DOUBLING * Math.log2(ms / BASE_MS) - 1e-9);
  return Math.min(i, OVERFLOW);
}

/**
 * The p-quantile (0 < p ≤ 1) of a histogram, interpolated linearly inside the bucket that holds
 * the rank, as Prometheus's histogram_quantile does; the overflow bucket reports its lower bound.
 */
export function computePercentile(counts: ArrayLike<number>, p: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] ?? 0;
  const rank = p * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c === 0 || seen + c < rank) {
      seen += c;
      continue;
    }
    if (i >= OVERFLOW) return BUCKET_BOUNDS_MS[OVERFLOW - 1]!;
    const lower = i === 0 ? 0 : BUCKET_BOUNDS_MS[i - 1]!;
    const upper = BUCKET_BOUNDS_MS[i]!;
    return Math.round((lower + ((upper - lower) * (rank - seen)) / c) * 1000) / 1000;
  }
  return 0;
}

/** The slots that cover minutes [from, to): minute hashes up to the first hour boundary, hours, minutes after the last. */
export function slotKeys(from: number, to: number): string[] {
  const keys: string[] = [];
  let m = from;
  while (m < to && m % 60 !== 0) keys.push(minuteKey(m++));
  for (; m + 60 <= to; m += 60) keys.push(hourKey(m / 60));
  for (; m < to; m++) keys.push(minuteKey(m));
  return keys;
}

export type OperationLatency = { operation: string; count: number; p50Ms: number; p95Ms: number; p99Ms: number };

/**
 * Latency per operation over [since, until) in ms since the epoch, at minute resolution: every
 * minute the window touches counts whole. Sorted by operation.
 */
export async function readLatency(store: HistogramStore, since: number, until: number): Promise<OperationLatency[]> {
  const sums = await store.read(slotKeys(Math.floor(since / MINUTE_MS), Math.ceil(until / MINUTE_MS)));
  const byOperation = new Map<string, number[]>();
  for (const [field, n] of sums) {
    const cut = field.lastIndexOf('|');
    const bucket = Number(field.slice(cut + 1));
    if (cut < 1 || !Number.isInteger(bucket) || bucket < 0 || bucket >= BUCKETS || !(n > 0)) continue;
    const operation = field.slice(0, cut);
    let counts = byOperation.get(operation);
    if (!counts) byOperation.set(operation, (counts = new Array<number>(BUCKETS).fill(0)));
    counts[bucket] = counts[bucket]! + n;
  }
  return [...byOperation]
    .map(([operation, counts]) => ({
      operation,
      count: counts.reduce((a, b) => a + b, 0),
      p50Ms: computePercentile(counts, 0.5),
      p95Ms: computePercentile(counts, 0.95),
      p99Ms: computePercentile(counts, 0.99),
    }))
    .sort((a, b) => (a.operation < b.operation ? -1 : a.operation > b.operation ? 1 : 0));
}

export type LatencyRecorder = {
  /** Counts one operation that took `ms`: synchronous, no I/O. */
  record(operation: string, ms: number): void;
  /** Adds what this instance has buffered to the store; resolves once it is there. Never rejects. */
  flush(): Promise<void>;
  /** Starts the timer that flushes every `flushEveryMs` (the server does, src/server.ts). */
  start(): void;
  /** Whether the flush timer runs. */
  readonly running: boolean;
  /** Stops the timer and flushes once (shutdown). */
  close(): Promise<void>;
};

type Buffer = Map<number, Map<string, Uint32Array>>;

/** The store entries of a buffer: each minute's hash, and each hour's hash with its minutes summed. */
function toEntries(buffer: Buffer) {
  const minutes: Array<{ key: string; counts: Record<string, number>; ttlMs: number }> = [];
  const hours = new Map<number, Record<string, number>>();
  for (const [minute, operations] of buffer) {
    const counts: Record<string, number> = {};
    let hour = hours.get(Math.floor(minute / 60));
    if (!hour) hours.set(Math.floor(minute / 60), (hour = {}));
    for (const [operation, buckets] of operations) {
      buckets.forEach((n, i) => {
        if (!n) return;
        const field = `${operation}|${i}`;
        counts[field] = n;
        hour[field] = (hour[field] ?? 0) + n;
      });
    }
    minutes.push({ key: minuteKey(minute), counts, ttlMs: MINUTE_RETENTION_MS });
  }
  return [...minutes, ...[...hours].map(([hour, counts]) => ({ key: hourKey(hour), counts, ttlMs: HOUR_RETENTION_MS }))];
}

/**
 * The in-process half: `record` costs a clock read, a map lookup and an array increment; a timer
 * (unref'd, so it never holds the process open) flushes every `flushEveryMs`.
 */
export function createLatencyRecorder(
  deps: { store: { histograms: HistogramStore }; clock: Clock; logger: Logger },
  options: { flushEveryMs?: number } = {},
): LatencyRecorder {
  let buffer: Buffer = new Map();
  let currentMinute = -1;
  let current: Map<string, Uint32Array> | undefined;
  let chain = Promise.resolve();
  let flushing = false;

  // Statistics, not records: a flush that fails is dropped and logged, never retried, because
  // a retry after a partial failure (or a lost reply) would count some operations twice.
  const writeOut = async () => {
    if (!buffer.size) return;
    const taken = buffer;
    buffer = new Map();
    current = undefined;
    currentMinute = -1;
    try {
      await deps.store.histograms.add(toEntries(taken));
    } catch (error) {
      deps.logger.warn({ err: { message: error instanceof Error ? error.message : String(error) } }, 'latency histograms not written');
    }
  };
  const flush = () => (chain = chain.then(writeOut));
  let timer: NodeJS.Timeout | undefined;

  return {
    record(operation, ms) {
      const minute = Math.floor(deps.clock.now() / MINUTE_MS);
      if (minute !== currentMinute || !current) {
        current = buffer.get(minute);
        if (!current) buffer.set(minute, (current = new Map()));
        currentMinute = minute;
      }
      let counts = current.get(operation);
      if (!counts) current.set(operation, (counts = new Uint32Array(BUCKETS)));
      const bucket = findBucket(ms);
      counts[bucket] = counts[bucket]! + 1;
    },
    flush,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (flushing) return;
        flushing = true;
        void flush().finally(() => (flushing = false));
      }, options.flushEveryMs ?? 2_000);
      timer.unref();
    },
    get running() {
      return timer !== undefined;
    },
    async close() {
      clearInterval(timer);
      timer = undefined;
      await flush();
    },
  };
}
