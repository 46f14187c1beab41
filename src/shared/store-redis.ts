import { createHash, randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import type { Logger } from './logger.js';
import type { RotateResult, SessionRecord, Store } from './store.js';
import {
  CREATE_SESSION,
  ROTATE,
  TAKE_IF,
  TAKE_HASH,
  TOUCH,
  INCREMENT,
  GATE,
  HINCRBY_MANY,
  LEASE_ACQUIRE,
  LEASE_RELEASE,
  LEASE_PUBLISH,
  WINDOW_RESERVE,
} from './store-redis-scripts.js';

type Script = (keys: string[], args: Array<string | number>) => Promise<unknown>;
type Client = Redis | Cluster;

/**
 * One server (`redis://host:port`), or with `cluster` ioredis' Cluster client on the
 * comma-separated seed nodes, which discovers the rest; credentials and TLS (`rediss://`)
 * come from the first URL and apply to every node.
 */
function connect(url: string, cluster: boolean): Client {
  if (!cluster) return new Redis(url, { maxRetriesPerRequest: 3, enableAutoPipelining: true });
  const seeds = url.split(',').map((u) => new URL(u.trim()));
  const first = seeds[0]!;
  return new Cluster(
    seeds.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    {
      enableAutoPipelining: true,
      redisOptions: {
        maxRetriesPerRequest: 3,
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
        ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    },
  );
}

/**
 * A Lua script, run as EVALSHA, and as EVAL when the server answers NOSCRIPT (a restart, a
 * failover, SCRIPT FLUSH, a new Cluster node): the script did not run then, so it runs once.
 * The command's first argument after the count is its first key.
 *
 * On one server the call is a plain `evalsha`. ioredis' custom commands (defineCommand) do the
 * same, but every auto-pipeline copies each custom command onto itself when it is made, on every
 * batch of commands (`me`'s session read too): with twelve scripts, dropping that took
 * ioredis's main-thread time in a one-connection login profile from 883 to 544 ms over the same
 * 20 s, about 0.17 ms per login.
 *
 * On a Cluster the scripts stay custom commands, with a fixed number of keys (numberOfKeys), so
 * a command's first argument is its first key, which is what Cluster auto-pipelining routes by.
 * With the key count first (numberOfKeys unset) it routed by the count, so scripts for keys of
 * different slots shared a pipeline and failed now and then with "All keys in the pipeline
 * should belong to the same slots allocation group" (redis/ioredis#2109): a login on Redis
 * Cluster answered INTERNAL_SERVER_ERROR under concurrency; an `evalsha` would route by the
 * hash. The command name is prefixed so no script shadows a built-in command (TOUCH is one).
 * Defined here, before the first command: an auto-pipeline copies the client's scripts
 * when it is made, so a command defined later is missing from a pipeline already queued
 * ("pipeline[functionName] is not a function").
 */
function defineScript(redis: Client, name: string, lua: string, numberOfKeys: number): Script {
  const checked = (keys: string[]) => {
    if (keys.length !== numberOfKeys) throw new Error(`redis script ${name} takes ${numberOfKeys} keys, got ${keys.length}`);
  };
  if (redis instanceof Redis) {
    const sha = createHash('sha1').update(lua).digest('hex');
    return (keys, args) => {
      checked(keys);
      return redis.evalsha(sha, numberOfKeys, ...keys, ...args).catch((error: unknown) => {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return redis.eval(lua, numberOfKeys, ...keys, ...args);
      });
    };
  }
  const command = `gag${name}`;
  redis.defineCommand(command, { lua, numberOfKeys });
  const run = (redis as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[command]!;
  return (keys, args) => {
    checked(keys);
    return run.call(redis, ...keys, ...args);
  };
}

function toFields(s: SessionRecord): Record<string, string> {
  return {
    id: s.id,
    userId: s.userId,
    createdAt: String(s.createdAt),
    lastSeenAt: String(s.lastSeenAt),
    expiresAt: String(s.expiresAt),
    ip: s.ip ?? '',
    userAgent: s.userAgent ?? '',
    amr: s.amr.join(' '),
    mfaVerified: s.mfaVerified ? '1' : '0',
    pending: s.pending ? '1' : '0',
  };
}

function fromFields(f: Record<string, string> | string[]): SessionRecord | null {
  const h = Array.isArray(f) ? Object.fromEntries(pairs(f)) : f;
  if (!h.id || !h.userId || !h.expiresAt) return null;
  return {
    id: h.id,
    userId: h.userId,
    createdAt: Number(h.createdAt),
    lastSeenAt: Number(h.lastSeenAt),
    expiresAt: Number(h.expiresAt),
    ip: h.ip || null,
    userAgent: h.userAgent || null,
    amr: h.amr ? h.amr.split(' ') : [],
    mfaVerified: h.mfaVerified === '1',
    ...(h.pending === '1' ? { pending: true } : {}),
  };
}

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/**
 * The Redis adapter (one server, or a Cluster with `cluster`); `prefix` namespaces every key and
 * channel (tests, shared Redis servers). Pub/sub on a Cluster uses classic PUBLISH, which the
 * cluster bus delivers to subscribers on every node.
 */
export function createRedisStore(options: { url: string; cluster?: boolean; prefix?: string; logger?: Logger }): Store {
  const p = options.prefix ?? 'gag:';
  if (/[{}]/.test(p)) throw new Error('store prefix must not contain braces (hash tags)');
  const redis = connect(options.url, options.cluster ?? false);
  redis.on('error', (err: Error) => options.logger?.warn({ err: { message: err.message } }, 'redis connection error'));
  let subscriber: Client | null = null;
  const handlers = new Map<string, Set<(message: string) => void>>();

  const sessKey = (id: string) => `${p}sess:{${id}}`;
  const rtKey = (sessionId: string, hash: string) => `${p}rt:{${sessionId}}:${hash}`;
  const userKey = (userId: string) => `${p}usess:{${userId}}`;
  const rotate = defineScript(redis, 'Rotate', ROTATE, 3);
  const createSession = defineScript(redis, 'CreateSession', CREATE_SESSION, 2);
  const takeHash = defineScript(redis, 'TakeHash', TAKE_HASH, 1);
  const takeIf = defineScript(redis, 'TakeIf', TAKE_IF, 1);
  const touch = defineScript(redis, 'Touch', TOUCH, 1);
  const increment = defineScript(redis, 'Increment', INCREMENT, 1);
  const gate = defineScript(redis, 'Gate', GATE, 1);
  const windowReserve = defineScript(redis, 'WindowReserve', WINDOW_RESERVE, 1);
  const hincrbyMany = defineScript(redis, 'HincrbyMany', HINCRBY_MANY, 1);
  const leaseAcquire = defineScript(redis, 'LeaseAcquire', LEASE_ACQUIRE, 1);
  const leaseRelease = defineScript(redis, 'LeaseRelease', LEASE_RELEASE, 1);
  const leasePublish = defineScript(redis, 'LeasePublish', LEASE_PUBLISH, 2);
  // The lease and its state share a hash tag: the publish script touches both (Cluster).
  const leaseKeys = (name: string) => [`${p}lease:{${name}}`, `${p}lease-state:{${name}}`];

  const ttl = (expiresAt: number, now: number) => Math.max(1, Math.ceil(expiresAt - now));

  return {
    kind: 'redis',
    sessions: {
      async create(session, first) {
        const ms = ttl(session.expiresAt, session.createdAt);
        const index = userKey(session.userId);
        // One round trip (auto-pipelined, so one write), in this order: the index first, so a
        // crash in between leaves a stale id (pruned on read), never a session that "log out
        // everywhere" cannot find. The index lives as long as the longest session.
        await Promise.all([
          redis.sadd(index, session.id),
          redis.pexpire(index, ms, 'GT'),
          redis.pexpire(index, ms, 'NX'),
          createSession(
            [sessKey(session.id), rtKey(session.id, first.hash)],
            [ms, ttl(first.expiresAt, session.createdAt), String(first.expiresAt), ...Object.entries(toFields(session)).flat()],
          ),
        ]);
      },
      async get(id, now) {
        const session = fromFields(await redis.hgetall(sessKey(id)));
        return session && session.expiresAt > now ? session : null;
      },
      async touch(id, lastSeenAt) {
        await touch([sessKey(id)], [lastSeenAt]);
      },
      async delete(id) {
        const session = fromFields((await takeHash([sessKey(id)], [])) as string[]);
        if (session) await redis.srem(userKey(session.userId), id);
        return session;
      },
      async listByUser(userId, now) {
        const ids = await redis.smembers(userKey(userId));
        const found = await Promise.all(ids.map(async (id) => fromFields(await redis.hgetall(sessKey(id)))));
        const stale = ids.filter((_, i) => !found[i]);
        if (stale.length) await redis.srem(userKey(userId), ...stale);
        return found.filter((s): s is SessionRecord => !!s && s.expiresAt > now);
      },
      async deleteByUser(userId, exceptId) {
        const ids = (await redis.smembers(userKey(userId))).filter((id) => id !== exceptId);
        if (!ids.length) return [];
        await Promise.all(ids.map((id) => redis.del(sessKey(id))));
        await redis.srem(userKey(userId), ...ids);
        return ids;
      },
      async rotateRefresh(input): Promise<RotateResult> {
        const keys = [sessKey(input.sessionId), rtKey(input.sessionId, input.oldHash), rtKey(input.sessionId, input.next.hash)];
        const args = [input.now, input.graceMs, input.successorBox];
        const [status, fields, box] = (await rotate(keys, args)) as [string, string[]?, string?];
        const session = fields ? fromFields(fields) : null;
        if (!session) return { status: 'invalid' };
        if (status === 'grace') return { status, session, successorBox: box ?? '' };
        if (status === 'reused') {
          await redis.srem(userKey(session.userId), session.id);
          return { status, session };
        }
        return status === 'rotated' ? { status, session } : { status: 'invalid' };
      },
    },
    counters: {
      async increment(key, windowMs) {
        const [count, pttl] = (await increment([`${p}cnt:${key}`], [windowMs])) as [number, number];
        return { count, resetInMs: pttl > 0 ? pttl : windowMs };
      },
      async reset(key) {
        await redis.del(`${p}cnt:${key}`);
      },
    },
    windows: {
      async reserve(key, { now, windowMs, max }) {
        const args = [now, Math.max(1, Math.ceil(windowMs)), Math.max(0, max), `${now}:${randomUUID()}`];
        const [before, retryAt] = (await windowReserve([`${p}win:${key}`], args)) as [number, number];
        return { before, retryAt };
      },
    },
    gates: {
      async begin(key, o) {
        const args = [o.now, o.free, o.hard, o.baseDelayMs, o.maxDelayMs, o.ttlMs, o.captcha?.after ?? 0, o.captcha?.solved ? 1 : 0];
        const [allowed, count, locked, retryAt, captcha] = (await gate([`${p}gate:${key}`], args)) as number[];
        const flag = captcha === 1 ? { captcha: true } : {};
        return allowed ? { allowed: true, attempt: count!, ...flag } : { allowed: false, attempts: count!, locked: locked === 1, retryAt: retryAt!, ...flag };
      },
      async peek(key) {
        return Number((await redis.hget(`${p}gate:${key}`, 'count')) ?? 0);
      },
      async reset(key) {
        await redis.del(`${p}gate:${key}`);
      },
    },
    codes: {
      async set(key, value, ttlMs) {
        await redis.set(`${p}code:${key}`, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
      },
      get: (key) => redis.get(`${p}code:${key}`),
      takeIf: async (key, expected) => (await takeIf([`${p}code:${key}`], [expected])) === 1,
      async delete(key) {
        await redis.del(`${p}code:${key}`);
      },
    },
    pubsub: {
      async publish(channel, message) {
        await redis.publish(`${p}${channel}`, message);
      },
      async subscribe(channel, onMessage) {
        if (!subscriber) {
          subscriber = redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
          subscriber.on('error', (err: Error) => options.logger?.warn({ err: { message: err.message } }, 'redis subscriber error'));
          subscriber.on('message', (ch: string, message: string) => {
            for (const handler of handlers.get(ch) ?? []) handler(message);
          });
        }
        const full = `${p}${channel}`;
        let set = handlers.get(full);
        if (!set) {
          handlers.set(full, (set = new Set()));
          await subscriber.subscribe(full);
        }
        set.add(onMessage);
        return async () => {
          set.delete(onMessage);
          if (set.size === 0 && handlers.get(full) === set) {
            handlers.delete(full);
            await subscriber?.unsubscribe(full);
          }
        };
      },
    },
    histograms: {
      async add(entries) {
        // Auto-pipelining sends these in one round trip.
        await Promise.all(
          entries.map(({ key, counts, ttlMs }) => hincrbyMany([`${p}hist:${key}`], [Math.max(1, Math.ceil(ttlMs)), ...Object.entries(counts).flat()])),
        );
      },
      async read(keys) {
        const hashes = await Promise.all(keys.map((key) => redis.hgetall(`${p}hist:${key}`)));
        const sums = new Map<string, number>();
        for (const hash of hashes) for (const [field, n] of Object.entries(hash)) sums.set(field, (sums.get(field) ?? 0) + Number(n));
        return sums;
      },
    },
    leases: {
      async acquire(name, owner, ttlMs) {
        return (await leaseAcquire([leaseKeys(name)[0]!], [owner, Math.max(1, Math.ceil(ttlMs))])) === 1;
      },
      async release(name, owner) {
        await leaseRelease([leaseKeys(name)[0]!], [owner]);
      },
      state: (name) => redis.get(leaseKeys(name)[1]!),
      async publish(name, owner, { channel, messages, state }) {
        return (await leasePublish(leaseKeys(name), [owner, `${p}${channel}`, state, ...messages])) === 1;
      },
    },
    async ping() {
      await redis.ping();
    },
    async close() {
      await subscriber?.quit().catch(() => undefined);
      await redis.quit().catch(() => undefined);
    },
  };
}
