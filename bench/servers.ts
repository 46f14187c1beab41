import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import { createApp } from '../src/app.js';
import { bootstrap } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { createDatabase } from '../src/db/client.js';
import { closeDeps, createDeps, type Deps } from '../src/deps.js';
import { startServices } from '../src/server.js';
import type { Backends } from './backends.js';
import type { Cleanup } from './cleanup.js';

export type GatewayOptions = {
  secretKey?: string;
  /** More RATE_LIMITS entries (`<limit>=<max>/<window>`, comma-separated), after the per-IP lifts below. */
  rateLimits?: string;
  /** An admin account to create at start (ADMIN_EMAIL, ADMIN_PASSWORD). */
  adminEmail?: string;
  adminPassword?: string;
  /** LOG_LEVEL, `warn` unless told. */
  logLevel?: 'warn' | 'error';
};

/**
 * The real gateway, in this process, on a free loopback port. The config is built from these
 * overrides only, not from process.env, so the operator's own settings (ADMIN_*, SMTP_URL...)
 * cannot change what is measured.
 */
export async function startGateway(backends: Backends, cleanup: Cleanup, options: GatewayOptions = {}): Promise<string> {
  return (await startGatewayWithDeps(backends, cleanup, options)).url;
}

/** startGateway, also handing back its Deps (the query counter wraps its database client). */
export async function startGatewayWithDeps(backends: Backends, cleanup: Cleanup, options: GatewayOptions = {}): Promise<{ url: string; deps: Deps }> {
  const config = loadConfig({
    // Measured as deployed: production mode (no GraphiQL) wherever it can start, i.e. on real backends.
    NODE_ENV: backends.databaseUrl && backends.redisUrl ? 'production' : 'test',
    LOG_LEVEL: options.logLevel ?? 'warn',
    ...(options.adminEmail ? { ADMIN_EMAIL: options.adminEmail, ADMIN_PASSWORD: options.adminPassword } : {}),
    HOST: '127.0.0.1',
    PORT: '0',
    // Instances of one deployment share it (it decrypts the signing keys they share).
    SECRET_KEY: options.secretKey ?? randomBytes(36).toString('base64url'),
    DATABASE_URL: backends.databaseUrl,
    REDIS_URL: backends.redisUrl,
    DATA_DIR: backends.dataDir,
    // Loopback is one client IP: lift the per-IP limits so the runs measure the work, not the
    // limiter (the login run uses the right password, so the account lockout never engages).
    RATE_LIMITS: ['login.ip=1000000000/1m,register.ip=1000000000/1m', options.rateLimits].filter(Boolean).join(','),
  });
  // Without DATABASE_URL the gateway would keep PGlite on disk under DATA_DIR; the embedded
  // fallback measures it in memory instead, so it is passed in (and closed) by us.
  const database = backends.databaseUrl ? undefined : await createDatabase({ dataDir: 'memory://' });
  if (database) cleanup.add('close PGlite', () => database.close());
  const deps = await startServices(await createDeps(config, { storePrefix: 'bench:', ...(database ? { database } : {}) }));
  cleanup.add('close the gateway deps', () => closeDeps(deps, { database: !database, store: true }));
  await bootstrap(deps);
  const app = createApp(deps);
  const { url } = await app.start(0, '127.0.0.1');
  cleanup.add('stop the gateway', () => app.stop());
  return { url, deps };
}

/** The baseline: graphql-yoga with a one-field schema and its defaults, on node:http. */
export async function startBareYoga(cleanup: Cleanup): Promise<string> {
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { ok: Boolean }' }),
    logging: false,
    graphiql: false,
    landingPage: false,
  });
  const server = createServer(yoga);
  const port = await listen(server);
  cleanup.add('stop the bare yoga server', async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await yoga.dispose();
  });
  return `http://127.0.0.1:${port}/graphql`;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
