// Analytics: sign-ups and sign-ins over time, failed sign-ins, and latency p50/p95/p99 per
// operation, drawn with uPlot (canvas) and given as tables too, for screen readers.
import { useEffect, useRef, useState } from '/admin/vendor/hooks.mjs';
import uPlot from '/admin/vendor/uplot.mjs';
import { ErrorNote, Field, html, Loading, Title, useQuery } from '/admin/ui.js';

const HOUR = 3_600_000;
const RANGES = {
  day: { label: 'Last 24 hours', buckets: 12, size: 2 * HOUR },
  week: { label: 'Last 7 days', buckets: 7, size: 24 * HOUR },
  month: { label: 'Last 30 days', buckets: 10, size: 72 * HOUR },
};
const COUNTS = 'registrations loginsSucceeded loginsFailed';

/** One request: a window per bucket (aliases b0…), and the whole range once for latency. */
function analyticsQuery(range, until) {
  const start = until - range.buckets * range.size;
  const windows = Array.from({ length: range.buckets }, (_, i) => [start + i * range.size, start + (i + 1) * range.size]);
  const fields = windows.map(([s, u], i) => `b${i}: analytics(since: "${new Date(s).toISOString()}", until: "${new Date(u).toISOString()}") { ${COUNTS} }`);
  const whole = `total: analytics(since: "${new Date(start).toISOString()}", until: "${new Date(until).toISOString()}") { ${COUNTS} latency { operation count p50Ms p95Ms p99Ms } }`;
  return { query: `query Analytics { ${fields.join(' ')} ${whole} }`, windows };
}

/** A uPlot chart that follows its container's width. */
function Chart({ options, data, label }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    const width = () => Math.max(280, element.clientWidth);
    const chart = new uPlot({ ...options, width: width(), height: 240 }, data, element);
    const resize = new ResizeObserver(() => chart.setSize({ width: width(), height: 240 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [JSON.stringify(data)]);
  return html`<figure><div ref=${box} class="chart" role="img" aria-label=${label}></div></figure>`;
}

const series = (label, stroke, extra = {}) => ({ label, stroke, width: 2, ...extra });
/** Counts and milliseconds start at zero: an axis from 20 ms would make 22 ms look like twice 21. */
const FROM_ZERO = { range: (_, _min, max) => [0, max > 0 ? max * 1.1 : 1] };

function Activity({ data, windows }) {
  const xs = windows.map(([s]) => s / 1000);
  const pick = (field) => windows.map((_, i) => data[`b${i}`][field]);
  const options = {
    title: 'Sign-ups and sign-ins',
    scales: { y: FROM_ZERO },
    series: [{}, series('Sign-ups', '#2563eb'), series('Sign-ins', '#15803d'), series('Failed sign-ins', '#b91c1c')],
    axes: [{}, { label: 'events' }],
  };
  return html`<${Chart} options=${options} data=${[xs, pick('registrations'), pick('loginsSucceeded'), pick('loginsFailed')]}
    label="Sign-ups, sign-ins and failed sign-ins over time" />`;
}

function Latency({ latency }) {
  if (!latency.length) return html`<p class="empty">No operations measured in this window.</p>`;
  const xs = latency.map((_, i) => i);
  const bars = (size) => uPlot.paths.bars({ size: [size] });
  const options = {
    title: 'Latency per operation (ms)',
    scales: { x: { time: false, range: [-0.5, latency.length - 0.5] }, y: FROM_ZERO },
    series: [
      {},
      series('p99', '#7c3aed', { paths: bars(0.8), fill: '#ddd6fe' }),
      series('p95', '#2563eb', { paths: bars(0.55), fill: '#bfdbfe' }),
      series('p50', '#15803d', { paths: bars(0.3), fill: '#bbf7d0' }),
    ],
    axes: [{ splits: () => xs, values: (_, splits) => splits.map((i) => latency[i]?.operation.replace(/^(Query|Mutation)\./, '') ?? '') }, { label: 'ms' }],
  };
  return html`<${Chart} options=${options} data=${[xs, latency.map((l) => l.p99Ms), latency.map((l) => l.p95Ms), latency.map((l) => l.p50Ms)]}
    label="Latency p50, p95 and p99 per operation" />`;
}

/** The windows end at the server's now (its clock, not this browser's), asked for first. */
function Report({ range, until }) {
  const { query, windows } = analyticsQuery(range, until);
  const { data, error, loading } = useQuery(query, {}, [range, until]);
  const total = data?.total;
  return html`<div>
    <${ErrorNote} error=${error} />
    ${loading && html`<${Loading} />`}
    ${
      total &&
      html`<dl class="facts">
          <dt>Sign-ups</dt><dd>${total.registrations}</dd>
          <dt>Sign-ins</dt><dd>${total.loginsSucceeded}</dd>
          <dt>Failed sign-ins</dt><dd>${total.loginsFailed}</dd>
        </dl>
        <div class="grid">
          <${Activity} data=${data} windows=${windows} />
          <${Latency} latency=${total.latency} />
        </div>
        <div class="table" tabindex="0"><table>
          <caption>Latency per operation</caption>
          <thead><tr><th scope="col">Operation</th><th scope="col">Count</th><th scope="col">p50 ms</th><th scope="col">p95 ms</th><th scope="col">p99 ms</th></tr></thead>
          <tbody>${total.latency.map(
            (l) =>
              html`<tr><td><code>${l.operation}</code></td><td>${l.count}</td><td>${l.p50Ms.toFixed(1)}</td><td>${l.p95Ms.toFixed(1)}</td><td>${l.p99Ms.toFixed(1)}</td></tr>`,
          )}</tbody>
        </table></div>`
    }
  </div>`;
}

export function AnalyticsPage() {
  const [rangeKey, setRangeKey] = useState('day');
  const now = useQuery('query Now { analytics { until } }', {}, []);
  const until = now.data && Date.parse(now.data.analytics.until);
  return html`<section>
    <${Title}>Analytics<//>
    <${Field} id="range" label="Range">
      <select id="range" value=${rangeKey} onChange=${(e) => setRangeKey(e.target.value)}>
        ${Object.entries(RANGES).map(([key, r]) => html`<option value=${key}>${r.label}</option>`)}
      </select>
    <//>
    <${ErrorNote} error=${now.error} />
    ${now.loading && html`<${Loading} />`}
    ${until && html`<${Report} range=${RANGES[rangeKey]} until=${until} />`}
  </section>`;
}
