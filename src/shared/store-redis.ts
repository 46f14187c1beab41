import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import type { RotateResult, SessionRecord, Store } from './store.js';

// Keys that one script touches share a hash tag ({session id}), so the scripts stay valid on
// Redis Cluster. The per-user index is a separate key and is kept up to date outside them.
const ROTATE = `
local now = tonumber(ARGV[1])
local sexp = redis.call('HGET', KEYS[1], 'expiresAt')
if not sexp or tonumber(sexp) <= now then return {'invalid'} end
local r = redis.call('HMGET', KEYS[2], 'expiresAt', 'rotatedAt', 'successorBox')
if not r[1] or tonumber(r[1]) <= now then return {'invalid'} end
if r[2] then
  if tonumber(ARGV[2]) > 0 and now - tonumber(r[2]) <= tonumber(ARGV[2]) then
    return {'grace', redis.call('HGETALL', KEYS[1]), r[3]}
  end
  local s = redis.call('HGETALL', KEYS[1])
  redis.call('DEL', KEYS[1])
  return {'reused', s}
end
redis.call('HSET', KEYS[2], 'rotatedAt', ARGV[1], 'successorBox', ARGV[3])
redis.call('HSET', KEYS[3], 'expiresAt', sexp)
redis.call('PEXPIRE', KEYS[3], math.max(1, tonumber(sexp) - now))
redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[1])
return {'rotated', redis.call('HGETALL', KEYS[1])}
`;
const TAKE_IF = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end return 0`;
const TAKE_HASH = `local s = redis.call('HGETALL', KEYS[1]) redis.call('DEL', KEYS[1]) return s`;
const TOUCH = `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[1]) end return 1`;
const INCREMENT = `
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {c, redis.call('PTTL', KEYS[1])}
`;

// Consecutive-failure gate: refuse (without counting) while locked or waiting, or past the
// CAPTCHA threshold (ARGV[7], 0 = none) without a solved CAPTCHA (ARGV[8] = 1); otherwise
// count, and past `free` start the next wait now, before the attempt is evaluated. The 5th
// element says the attempt is past the CAPTCHA threshold.
const GATE = `
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local hard = tonumber(ARGV[3])
local captchaAfter = tonumber(ARGV[7])
local g = redis.call('HMGET', KEYS[1], 'count', 'until')
local count = tonumber(g[1]) or 0
local untilMs = tonumber(g[2]) or 0
if count >= hard then return {0, count, 1, now + redis.call('PTTL', KEYS[1]), 0} end
if count >= free and untilMs > now then return {0, count, 0, untilMs, 0} end
local captcha = 0
if captchaAfter > 0 and count >= captchaAfter then captcha = 1 end
if captcha == 1 and ARGV[8] ~= '1' then return {0, count, 0, now, 1} end
count = count + 1
local nextUntil = 0
if count >= free then nextUntil = now + math.min(tonumber(ARGV[4]) * 2 ^ (count - free), tonumber(ARGV[5])) end
redis.call('HSET', KEYS[1], 'count', count, 'until', nextUntil)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {1, count, 0, 0, captcha}
`;

// One script per hash: its increments land together, and it stays a single-key command (Cluster).
const HINCRBY_MANY = `
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

// Leases (KEYS[1] the lease, holding its owner): take or renew; release; and the fenced publish,
// which publishes and saves the holder's state (KEYS[2]) only while ARGV[1] still holds the lease.
const LEASE_ACQUIRE = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;
const LEASE_RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1`;
const LEASE_PUBLISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 4, #ARGV do redis.call('PUBLISH', ARGV[2], ARGV[i]) end
redis.call('SET', KEYS[2], ARGV[3])
return 1
`;

type Script = (keys: string[], args: Array<string | number>) => Promise<unknown>;

/** EVALSHA with a fallback to EVAL when the server does not have the script yet (restart, failover). */
function defineScript(redis: Redis, lua: string): Script {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async (keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(lua, keys.length, ...keys, ...args);
    }
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

/** The Redis adapter; `prefix` namespaces every key and channel (tests, shared Redis servers). */
export function createRedisStore(options: { url: string; prefix?: string; logger?: Logger }): Store {
  const p = options.prefix ?? 'gag:';
  const redis = new Redis(options.url, { maxRetriesPerRequest: 3, enableAutoPipelining: true });
  redis.on('error', (err) => options.logger?.warn({ err: { message: err.message } }, 'redis connection error'));
  let subscriber: Redis | null = null;
  const handlers = new Map<string, Set<(message: string) => void>>();

  const sessKey = (id: string) => `${p}sess:{${id}}`;
  const rtKey = (sessionId: string, hash: string) => `${p}rt:{${sessionId}}:${hash}`;
  const userKey = (userId: string) => `${p}usess:{${userId}}`;
  const rotate = defineScript(redis, ROTATE);
  const takeHash = defineScript(redis, TAKE_HASH);
  const takeIf = defineScript(redis, TAKE_IF);
  const touch = defineScript(redis, TOUCH);
  const increment = defineScript(redis, INCREMENT);
  const gate = defineScript(redis, GATE);
  const hincrbyMany = defineScript(redis, HINCRBY_MANY);
  const leaseAcquire = defineScript(redis, LEASE_ACQUIRE);
  const leaseRelease = defineScript(redis, LEASE_RELEASE);
  const leasePublish = defineScript(redis, LEASE_PUBLISH);
  // The lease and its state share a hash tag: the publish script touches both (Cluster).
  const leaseKeys = (name: string) => [`${p}lease:{${name}}`, `${p}lease-state:{${name}}`];

  const ttl = (expiresAt: number, now: number) => Math.max(1, Math.ceil(expiresAt - now));

  return {
    kind: 'redis',
    sessions: {
      async create(session, first) {
        const ms = ttl(session.expiresAt, session.createdAt);
        const index = userKey(session.userId);
        // One round trip (auto-pipelined), in this order: the index first, so a crash in
        // between leaves a stale id (pruned on read), never a session that "log out
        // everywhere" cannot find. The index lives as long as the longest session.
        await Promise.all([
          redis.sadd(index, session.id),
          redis.pexpire(index, ms, 'GT'),
          redis.pexpire(index, ms, 'NX'),
          redis
            .multi()
            .hset(sessKey(session.id), toFields(session))
            .pexpire(sessKey(session.id), ms)
            .hset(rtKey(session.id, first.hash), { expiresAt: String(first.expiresAt) })
            .pexpire(rtKey(session.id, first.hash), ttl(first.expiresAt, session.createdAt))
            .exec(),
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
          subscriber = redis.duplicate();
          subscriber.on('error', (err) => options.logger?.warn({ err: { message: err.message } }, 'redis subscriber error'));
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
          entries.map(({ key, counts, ttlMs }) =>
            hincrbyMany([`${p}hist:${key}`], [Math.max(1, Math.ceil(ttlMs)), ...Object.entries(counts).flat()]),
          ),
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
