import type { Deps, Ports } from './deps.js';
import { startAuditLive } from './modules/audit/live.js';
import { startWebhookWorker } from './modules/webhooks/worker.js';

/**
 * Starts what runs in the background of a serving instance, on top of the ports createDeps
 * built: the audit relay and feed (live events on every instance), the latency flusher and the
 * message queue's worker, and the webhook worker (outbox fan-out and delivery). main.ts and the test app call it; scripts (keys:rotate, db:migrate)
 * do not, so they start none of these. closeDeps stops them, before the ports close.
 */
export async function startServices(ports: Ports): Promise<Deps> {
  // First: it resolves after the relay's first attempt to lead, so events committed from here on are published.
  const audit = await startAuditLive(ports, { monotonic: ports.monotonic });
  ports.latency.start();
  ports.messages.start();
  const webhooks = await startWebhookWorker({ ...ports }).catch(async (error: unknown) => {
    await audit.stop();
    throw error;
  });
  return { ...ports, audit, webhooks };
}
