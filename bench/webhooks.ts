import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config.js';
import { createDatabase } from '../src/db/client.js';
import { closeDeps, createDeps } from '../src/deps.js';
import { recordAudit } from '../src/modules/audit/service.js';
import { createWebhook } from '../src/modules/webhooks/service.js';
import { startServices } from '../src/server.js';
import type { Backends } from './backends.js';
import type { Cleanup } from './cleanup.js';

export type WebhookBenchSettings = { events: number; ratePerSecond: number };
export type WebhookBenchResult = { events: number; received: number; seconds: number; perSecond: number; p50Ms: number; p99Ms: number; maxMs: number };

/**
 * Webhook delivery: `events` audit rows committed at `ratePerSecond` (in batches, one transaction
 * each), delivered by the worker to a node:http receiver on loopback (answering 204). Reports the
 * deliveries per second from the first commit to the last receipt, and the lag from each row's
 * commit to its receipt (p50, p99, max). The gateway runs in test mode: production mode allows
 * only https receivers, and this one is plain http on 127.0.0.1 (let through by the allow-list).
 */
export async function runWebhookBench(
  input: { backends: Backends; secretKey: string; settings: WebhookBenchSettings },
  cleanup: Cleanup,
  signal: AbortSignal,
): Promise<WebhookBenchResult> {
  const { backends, settings } = input;
  const committedAt = new Map<string, number>();
  const lags: number[] = [];
  let lastReceipt = 0;
  let expected: (() => void) | null = null;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const now = performance.now();
      const id = (JSON.parse(body) as { data: { id: string } }).data.id;
      const at = committedAt.get(id);
      if (at !== undefined) {
        lags.push(now - at);
        lastReceipt = now;
        if (lags.length >= settings.events) expected?.();
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add('stop the webhook receiver', () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    // The run's one key: the database already holds signing keys encrypted with it.
    SECRET_KEY: input.secretKey,
    DATABASE_URL: backends.databaseUrl,
    REDIS_URL: backends.redisUrl,
    DATA_DIR: backends.dataDir,
    WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1',
  });
  const database = backends.databaseUrl ? undefined : await createDatabase({ dataDir: 'memory://' });
  if (database) cleanup.add('close PGlite (webhooks)', () => database.close());
  const deps = await startServices(await createDeps(config, { storePrefix: 'bench-webhooks:', ...(database ? { database } : {}) }));
  cleanup.add('close the webhook gateway deps', () => closeDeps(deps, { database: !database, store: true }));
  const meta = { requestId: 'bench-webhooks', ip: null, userAgent: null };
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  await createWebhook(deps, deps.random.uuid(), { url, events: ['user.updated'] }, meta);

  const all = new Promise<void>((resolve) => (expected = resolve));
  console.log(`webhooks: ${settings.events} events at ${settings.ratePerSecond}/s to a loopback receiver`);
  const batch = Math.max(1, Math.round(settings.ratePerSecond / 20));
  const started = performance.now();
  for (let sent = 0; sent < settings.events && !signal.aborted; sent += batch) {
    const ids = await deps.db.transaction(async (tx) => {
      const made: string[] = [];
      for (let i = 0; i < Math.min(batch, settings.events - sent); i++)
        made.push((await recordAudit(deps, tx, { action: 'user.updated', userId: null, meta })).id);
      return made;
    });
    const now = performance.now();
    for (const id of ids) committedAt.set(id, now);
    const due = started + ((sent + batch) / settings.ratePerSecond) * 1000;
    if (due > now) await sleep(due - now);
  }
  await Promise.race([all, sleep(30_000 + settings.events * 10, undefined, { signal })]);
  const sorted = [...lags].sort((x, y) => x - y);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
  const seconds = (lastReceipt - started) / 1000;
  return {
    events: settings.events,
    received: lags.length,
    seconds,
    perSecond: lags.length / seconds,
    p50Ms: pct(50),
    p99Ms: pct(99),
    maxMs: sorted.at(-1) ?? Number.NaN,
  };
}

export function printWebhookBench(r: WebhookBenchResult): void {
  console.log(
    `webhooks: ${r.received}/${r.events} delivered in ${r.seconds.toFixed(1)} s (${r.perSecond.toFixed(0)} deliveries/s); ` +
      `commit → receipt p50 ${r.p50Ms.toFixed(0)} ms, p99 ${r.p99Ms.toFixed(0)} ms, max ${r.maxMs.toFixed(0)} ms`,
  );
}
