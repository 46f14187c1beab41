import { createServer } from 'node:net';
import { createApp } from './app.js';
import { bootstrap } from './bootstrap.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { closeDeps, createDeps } from './deps.js';
import { startServices } from './server.js';

/** True when host:port can be bound now (0 asks for any free port: always true). */
function portIsFree(port: number, host: string): Promise<boolean> {
  if (port === 0) return Promise.resolve(true);
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  // Before anything else: a port in use must not cost a migration, a generated secret or the
  // one-time admin password printed for a server that never starts.
  if (!(await portIsFree(config.port, config.host))) {
    console.error(`Port ${config.port} on ${config.host} is already in use (another gateway running?). Stop it, or set PORT.`);
    process.exit(1);
  }
  const deps = await startServices(await createDeps(config));
  await bootstrap(deps);
  const app = createApp(deps);
  const { url: listening } = await app.start();
  // PUBLIC_URL, not the bound address: it is the origin in tokens, links and cookies, and a
  // browser treats localhost and 127.0.0.1 as two sites (cookies set on one never reach the other).
  const url = `${config.publicUrl}/graphql`;
  deps.logger.info(
    { url, listening, database: deps.database.kind, store: deps.store.kind, env: config.nodeEnv },
    `graphql-auth-gateway ready at ${url} (listening on ${listening})`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    deps.logger.info({ signal }, 'shutting down');
    try {
      await app.stop();
      await closeDeps(deps);
      process.exit(0);
    } catch (err) {
      deps.logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error('failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
