import { failures, type Measurement } from './measurement.js';

export type RunName = 'bare' | 'me' | 'login' | 'argon2';
export type Results = Record<RunName, Measurement>;

/** DESIGN.md "Performance": ratios measured in the same run; the targets come from the issues. */
const TARGETS = {
  meOverBare: { of: 'me', over: 'bare', target: 0.65 },
  loginOverArgon2: { of: 'login', over: 'argon2', target: 0.8 },
} as const;

const LABELS: Record<RunName, string> = {
  bare: 'bare yoga { __typename }',
  me: 'gateway me',
  login: 'gateway login',
  argon2: 'argon2 verify ceiling',
};

function ratios(results: Results) {
  return Object.fromEntries(
    Object.entries(TARGETS).map(([name, t]) => {
      const value = results[t.of].reqPerSec / results[t.over].reqPerSec;
      return [name, { value: round(value, 3), target: t.target, pass: value >= t.target }];
    }),
  ) as Record<keyof typeof TARGETS, { value: number; target: number; pass: boolean }>;
}

/** The human table, then one machine-readable line: `BENCH_RESULT {json}`. */
export function printReport(results: Results, context: { backend: string; seconds: number; cpus: number }): void {
  const header = ['run', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'bad bodies'];
  const rows = (Object.keys(LABELS) as RunName[]).map((name) => {
    const m = results[name];
    return [LABELS[name], m.connections, round(m.reqPerSec, 1), round(m.p50Ms, 2), round(m.p99Ms, 2), m.non2xx, m.errors, m.badBodies].map(String);
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\nbackend: ${context.backend}; ${context.seconds} s per run; ${context.cpus} CPUs`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  const r = ratios(results);
  for (const [name, t] of Object.entries(TARGETS)) {
    const { value, pass } = r[name as keyof typeof TARGETS];
    console.log(`${t.of}/${t.over} = ${value.toFixed(3)} (target >= ${t.target.toFixed(2)}) ${pass ? 'PASS' : 'BELOW'}`);
  }
  const bad = Object.values(results).reduce((sum, m) => sum + failures(m), 0);
  if (bad) console.log(`WARNING: ${bad} failed requests: these numbers do not measure the intended path`);
  console.log(`BENCH_RESULT ${JSON.stringify({ ...context, runs: results, ratios: r, failedRequests: bad })}`);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
