import type { UrlGuard } from './guard.js';

/**
 * Webhook delivery on one instance (worker.ts starts it; src/server.ts startServices). A type of
 * its own, importing only the guard, so deps.ts can hold it without an import cycle.
 */
export type WebhookRuntime = {
  /** The SSRF guard: createWebhook/updateWebhook check a URL with it; every attempt goes through its dispatcher. */
  readonly guard: UrlGuard;
  /** Looks for work now (after a ping or a redelivery commits, or after a test moves the clock). */
  wake(): void;
  /**
   * Stops the worker: attempts in flight are aborted and their claims released, so any instance
   * retries them at once. `release: false` keeps the claims, as a killed process leaves them: they
   * are retried once they expire (tests use it to stand for a crash).
   */
  stop(options?: { release?: boolean }): Promise<void>;
};
