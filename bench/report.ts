import { failures, type Measurement } from './measurement.js';

export type RunName = 'bare' | 'me' | 'meWarn' | 'meTwo' | 'login' | 'argon2' | 'refresh' | 'loginOverload' | 'resetKnown' | 'resetUnknown';
/** The runs BENCH_ONLY selected. */
export type Results = Partial<Record<RunName, Measurement>>;

/** README "Performance": ratios measured in the same run; the targets come from the issues. */
const TARGETS = {
  meOverBare: { of: 'me', over: 'bare', target: 0.8 },
  meWarnOverBare: { of: 'meWarn', over: 'bare', target: 0.8 },
  loginOverArgon2: { of: 'login', over: 'argon2', target: 0.75 },
} as const;

const LABELS: Record<RunName, string> = {
  bare: 'bare yoga { __typename }',
  me: 'gateway me (default LOG_LEVEL)',
  meWarn: 'gateway me (LOG_LEVEL=warn)',
  meTwo: 'gateway me, 2 instances together',
  login: 'gateway login',
  argon2: 'argon2 verify ceiling',
  refresh: 'gateway refreshToken',
  loginOverload: 'gateway login at 10x concurrency',
  resetKnown: 'reset, known email',
  resetUnknown: 'reset, unknown email',
};

/** The ratios whose two runs were both measured. */
function ratios(results: Results) {
  return Object.fromEntries(
    Object.entries(TARGETS).flatMap(([name, t]) => {
      const of = results[t.of];
      const over = results[t.over];
      if (!of || !over) return [];
      const value = of.reqPerSec / over.reqPerSec;
      return [[name, { value: round(value, 3), target: t.target, pass: value >= t.target }]];
    }),
  ) as Partial<Record<keyof typeof TARGETS, { value: number; target: number; pass: boolean }>>;
}

/**
 * Reset known − unknown: what the answer's timing could tell an enumerator. Reported, with no
 * target: it never fails the run.
 */
function resetTiming(results: Results) {
  const { resetKnown: known, resetUnknown: unknown } = results;
  if (!known || !unknown) return undefined;
  return {
    p50DiffMs: round(known.p50Ms - unknown.p50Ms, 2),
    p99DiffMs: round(known.p99Ms - unknown.p99Ms, 2),
    reqPerSecRatio: round(known.reqPerSec / unknown.reqPerSec, 3),
  };
}

/** The human table, then one machine-readable line: `BENCH_RESULT {json}`. */
export function printReport(
  results: Results,
  context: { backend: string; seconds: number; cpus: number; gateway: string },
  figures: Record<string, number> = {},
): void {
  const header = ['run', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'bad bodies', 'refused'];
  const rows = (Object.keys(LABELS) as RunName[]).flatMap((name) => {
    const m = results[name];
    if (!m) return [];
    return [
      [LABELS[name], m.connections, round(m.reqPerSec, 1), round(m.p50Ms, 2), round(m.p99Ms, 2), m.non2xx, m.errors, m.badBodies, m.refused ?? ''].map(String),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\nbackend: ${context.backend}; gateway: ${context.gateway}; ${context.seconds} s per run; ${context.cpus} CPUs`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  const r = ratios(results);
  for (const [name, t] of Object.entries(TARGETS)) {
    const ratio = r[name as keyof typeof TARGETS];
    if (!ratio) continue;
    console.log(`${t.of}/${t.over} = ${ratio.value.toFixed(3)} (target >= ${t.target.toFixed(2)}) ${ratio.pass ? 'PASS' : 'BELOW'}`);
  }
  for (const [name, value] of Object.entries(figures)) console.log(`${name}: ${round(value, 1)}`);
  const reset = resetTiming(results);
  if (reset) {
    const signed = (ms: number) => `${ms >= 0 ? '+' : ''}${ms.toFixed(2)} ms`;
    console.log(
      `reset known - unknown: p50 ${signed(reset.p50DiffMs)}, p99 ${signed(reset.p99DiffMs)}, req/s ratio ${reset.reqPerSecRatio.toFixed(3)} (no account enumeration by timing: the two should not differ beyond run-to-run noise)`,
    );
  }
  const bad = Object.values(results).reduce((sum, m) => sum + (m ? failures(m) : 0), 0);
  if (bad) console.log(`WARNING: ${bad} failed requests: these numbers do not measure the intended path`);
  console.log(
    `BENCH_RESULT ${JSON.stringify({ ...context, runs: results, ratios: r, figures, ...(reset ? { resetTiming: reset } : {}), failedRequests: bad })}`,
  );
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
