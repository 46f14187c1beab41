import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Config } from './config.js';
import { createDatabase, type Database, type Db } from './db/client.js';
import { createCaptchaVerifier, type CaptchaVerifier } from './modules/abuse/captcha.js';
import { createLatencyRecorder, type LatencyRecorder } from './modules/analytics/latency.js';
import type { AuditLive } from './modules/audit/live.js';
import { createMessages, type Messages, type MessagesOptions } from './modules/messaging/delivery.js';
import { createPostgresQueue } from './modules/messaging/queue.js';
import type { WebhookRuntime } from './modules/webhooks/runtime.js';
import { createKeyRing, type KeyRing } from './modules/tokens/keys.js';
import { createAccessTokenVerifier, type AccessTokenVerifier } from './modules/tokens/verifier.js';
import { systemClock, type Clock } from './shared/clock.js';
import { deriveKey } from './shared/crypto.js';
import { createLogger, wantsPrettyLogs, type Logger } from './shared/logger.js';
import { createLogMailer, createSmtpMailer } from './shared/mailer.js';
import { createArgon2Hasher, type PasswordHasher } from './shared/password-hasher.js';
import { systemRandom, type Random } from './shared/random.js';
import { resolveSecretKey } from './shared/secret-key.js';
import { createLogSmsSender, createWebhookSmsSender } from './shared/sms.js';
import type { Store } from './shared/store.js';
import { createUserCache, type UserCache } from './modules/users/cache.js';
import { createMemoryStore } from './shared/store-memory.js';
import { createRedisStore } from './shared/store-redis.js';

/**
 * The ports createDeps builds: adapters to the outside (database, store, mail, clock, keys...)
 * with nothing running in the background but the key ring's reload. Scripts (keys:rotate) use
 * these alone; the server starts the running services on top (src/server.ts startServices).
 */
export type Ports = {
  config: Config;
  database: Database;
  db: Db;
  store: Store;
  clock: Clock;
  /** The monotonic clock of real-time bounds (live-audit access cache, unknown-kid reloads); tests move theirs. */
  monotonic: () => number;
  random: Random;
  hasher: PasswordHasher;
  keys: KeyRing;
  /** Verifies access tokens (with a cache of verified ones). */
  tokens: AccessTokenVerifier;
  logger: Logger;
  /** The CAPTCHA verifier when CAPTCHA_VERIFY_URL is set. */
  captcha: CaptchaVerifier | null;
  /** A real hash of a random password, verified for unknown emails so they cost what a wrong password costs. */
  dummyPasswordHash: string;
  /** Buffers latency per GraphQL operation; the server starts its flush to the store every 2 s (analytics). */
  latency: LatencyRecorder;
  /** Keys derived from SECRET_KEY (HKDF, one per use): TOTP secrets at rest, recovery-code hashes, decoy passkey ids. */
  mfaKeys: { totp: Buffer; recovery: Buffer; passkeyDecoy: Buffer };
  /** Derived from SECRET_KEY: OAuth providers' client secrets at rest. */
  oauthKey: Buffer;
  /** Mail and SMS, queued durably in `outbound_messages` after the transaction commits; the server starts the worker that delivers them with retries. */
  messages: Messages;
  /** Derived from SECRET_KEY: webhook signing secrets at rest. */
  webhookSecretKey: Buffer;
  /** The rows `me` shows, cached per instance and voided on every instance by each write (users/cache.ts). */
  userCache: UserCache;
};

/** Everything a use-case may touch: the ports and the services the server started. A plain object: tests build theirs with fakes at the edges. */
export type Deps = Ports & {
  /** Live audit events: the outbox relay (one instance leads), this instance's feed and subscriber checks. */
  audit: AuditLive;
  /** Webhook delivery: the outbox fan-out, the worker and the SSRF guard. */
  webhooks: WebhookRuntime;
};

export type DepsOverrides = Partial<Pick<Deps, 'clock' | 'random' | 'hasher' | 'logger' | 'store' | 'database' | 'captcha'>> & {
  /** Key prefix for the Redis store (tests run many apps against one Redis). */
  storePrefix?: string;
  /** Waits between delivery attempts of a mail or SMS (tests shorten them). */
  messageRetryDelaysMs?: number[];
  /**
   * The monotonic clock of real-time bounds (the subscriber access cache, the unknown-kid reload
   * throttle), so tests can move it instead of sleeping. @default performance.now
   */
  monotonic?: () => number;
};

/** Builds the ports: opens the database (and migrates it), the store and the key ring. Starts no background service. */
export async function createDeps(config: Config, overrides: DepsOverrides = {}): Promise<Ports> {
  const logger =
    overrides.logger ?? createLogger({ level: config.logLevel, pretty: wantsPrettyLogs({ isProduction: config.isProduction, isTTY: process.stdout.isTTY }) });
  const clock = overrides.clock ?? systemClock;
  const monotonic = overrides.monotonic ?? (() => performance.now());
  const random = overrides.random ?? systemRandom;
  const hasher = overrides.hasher ?? createArgon2Hasher();
  const database =
    overrides.database ??
    (await createDatabase({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
    }));
  const closers: Array<() => Promise<void>> = [];
  try {
    if (!overrides.database) closers.push(() => database.close());
    if (config.databaseMigrate) await database.migrate();
    const store =
      overrides.store ??
      (config.redisUrl ? createRedisStore({ url: config.redisUrl, cluster: config.redisCluster, prefix: overrides.storePrefix, logger }) : createMemoryStore());
    if (!overrides.store) closers.push(() => store.close());
    const latency = createLatencyRecorder({ store, clock, logger });
    closers.push(() => latency.close());
    if (!config.redisUrl) logger.warn('no REDIS_URL: using the in-process store; run a single instance only');
    const secret = resolveSecretKey({ secretKey: config.secretKey, dataDir: config.dataDir });
    if (secret.generated) logger.warn({ dataDir: config.dataDir }, 'no SECRET_KEY: generated a development key in DATA_DIR');
    const keys = await createKeyRing({
      db: database.db,
      secretKey: secret.key,
      clock,
      logger,
      pubsub: store.pubsub,
      accessTokenTtlMs: config.accessTokenTtlMs,
      alg: config.jwtAlg,
      monotonic,
    });
    closers.push(async () => keys.stop());
    const dummyPasswordHash = await hasher.hash(random.token(24));
    const mfaKeys = {
      totp: deriveKey(secret.key, 'totp-secret'),
      recovery: deriveKey(secret.key, 'recovery-code'),
      passkeyDecoy: deriveKey(secret.key, 'passkey-decoy'),
    };
    const oauthKey = deriveKey(secret.key, 'oauth-client-secret');
    const tokens = createAccessTokenVerifier({ config, clock, keys });
    const captcha =
      overrides.captcha !== undefined
        ? overrides.captcha
        : config.captchaVerifyUrl && config.captchaSecret
          ? createCaptchaVerifier({
              url: config.captchaVerifyUrl,
              secret: config.captchaSecret,
              logger,
              clock,
              hostnames: config.captchaHostnames,
              maxAgeMs: config.captchaMaxAgeMs,
            })
          : null;
    // Last: nothing after it can fail, so it needs no closer here (its first step never throws).
    // The queue's payloads hold one-time links and codes: encrypted under a key of their own.
    const queue = createPostgresQueue(database.db, deriveKey(secret.key, 'message-queue'));
    const messages = createMessagesFor(config, logger, { retryDelaysMs: overrides.messageRetryDelaysMs, queue, random, startWorker: false });
    const userCache = createUserCache({ db: database.db, store, random, monotonic });
    return {
      config,
      database,
      db: database.db,
      store,
      clock,
      monotonic,
      random,
      hasher,
      keys,
      tokens,
      captcha,
      logger,
      dummyPasswordHash,
      latency,
      messages,
      mfaKeys,
      webhookSecretKey: deriveKey(secret.key, 'webhook-secret'),
      oauthKey,
      userCache,
    };
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

/**
 * SMTP_URL / SMS_WEBHOOK_URL when set; otherwise messages go to the log, in full outside
 * production (the embedded default: a developer clicks the link there) and without their
 * content in production, where a one-time secret must never reach a log (ASVS 5.0 V16.2.5).
 */
function createMessagesFor(config: Config, logger: Logger, options: Pick<MessagesOptions, 'retryDelaysMs' | 'queue' | 'random' | 'startWorker'>): Messages {
  const revealContent = !config.isProduction;
  const mailer = config.smtpUrl ? createSmtpMailer({ url: config.smtpUrl, from: config.mailFrom, logger }) : createLogMailer({ logger, revealContent });
  const sms = config.smsWebhookUrl ? createWebhookSmsSender({ url: config.smsWebhookUrl }) : createLogSmsSender({ logger, revealContent });
  // Derived from an IP address host (APP_URL or PUBLIC_URL): browsers refuse every passkey ceremony for it.
  if (isIP(config.webauthn.rpId))
    logger.warn({ rpId: config.webauthn.rpId }, 'passkeys cannot work on an IP address: set WEBAUTHN_RP_ID (and WEBAUTHN_ORIGINS) to a host name');
  if (config.isProduction && !config.smtpUrl) logger.warn('no SMTP_URL: mails (verification, reset, magic links, codes) are not sent');
  if (config.isProduction && !config.smsWebhookUrl) logger.warn('no SMS_WEBHOOK_URL: SMS (phone verification, codes) are not sent');
  return createMessages({ mailer, sms, logger, ...options });
}

/**
 * Stops the running services (when started) and releases what createDeps opened (the caller
 * closes what it passed in).
 */
export async function closeDeps(
  deps: Ports & Partial<Pick<Deps, 'audit' | 'webhooks'>>,
  owned: { database: boolean; store: boolean } = { database: true, store: true },
) {
  deps.keys.stop();
  deps.userCache.stop();
  // Before the database and the store close: the relay may be mid-publish.
  await deps.audit?.stop();
  await deps.webhooks?.stop();
  // Before the store closes, so the last seconds of latency are kept.
  await deps.latency.close();
  // Messages already queued still go out (their tokens were committed).
  await deps.messages.close();
  if (owned.store) await deps.store.close();
  if (owned.database) await deps.database.close();
}
