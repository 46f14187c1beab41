import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { closeDeps, createDeps } from '../src/deps.js';
import { startServices } from '../src/server.js';
import { createLogger } from '../src/shared/logger.js';
import { backends, createCountingHasher, createShared, SECRET_KEY } from './support/app.js';

describe.each(backends())('ports and running services apart (%s)', (backend) => {
  it('regression: createDeps (what keys:rotate uses) starts no audit relay, latency flusher or message worker; startServices starts them and closeDeps stops them', async () => {
    const shared = await createShared(backend);
    const config = loadConfig({ NODE_ENV: 'test', SECRET_KEY, PUBLIC_URL: 'http://gateway.test', ...shared.env });
    const logger = createLogger({ level: 'warn', destination: { write: () => undefined } });
    const ports = await createDeps(config, { logger, hasher: createCountingHasher(), storePrefix: shared.storePrefix });
    let deps: Awaited<ReturnType<typeof startServices>> | undefined;
    try {
      expect(ports).not.toHaveProperty('audit');
      expect(ports.latency.running).toBe(false);
      expect(ports.messages.running).toBe(false);
      deps = await startServices(ports);
      // Alone on its database and store, the started relay leads.
      await expect.poll(() => deps?.audit.relay.leading, { timeout: 5_000 }).toBe(true);
      expect(deps.latency.running).toBe(true);
      expect(deps.messages.running).toBe(true);
    } finally {
      await closeDeps(deps ?? ports);
    }
    expect(deps?.audit.relay.leading).toBe(false);
    expect(ports.latency.running).toBe(false);
    expect(ports.messages.running).toBe(false);
  });
});
