/** The Lua scripts of the Redis store (store-redis.ts): each runs atomically on one server or one Cluster slot. */

// Keys that one script (or MULTI) touches share a hash tag ({session id}, {lease name}), so
// they hash to one slot and the scripts stay valid on Redis Cluster; every other script and
// command touches a single key. The per-user index is a separate key, kept up to date outside
// them. (A prefix must not contain braces: the first {...} of a key is its hash tag.)
export const ROTATE = `
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
/**
 * A new session and its first refresh token, both with their TTLs, at once (no key without its
 * expiry). As a script, not MULTI: auto-pipelined with the per-user index's commands, the whole
 * sign-in write is one round trip. KEYS: the session, the token; ARGV: the session's TTL (ms),
 * the token's TTL, the token's expiresAt, then the session's fields and values.
 */
export const CREATE_SESSION = `
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'expiresAt', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;
export const TAKE_IF = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end return 0`;
export const TAKE_HASH = `local s = redis.call('HGETALL', KEYS[1]) redis.call('DEL', KEYS[1]) return s`;
export const TOUCH = `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[1]) end return 1`;
export const INCREMENT = `
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {c, redis.call('PTTL', KEYS[1])}
`;

// Consecutive-failure gate: refuse (without counting) while locked or waiting, or past the
// CAPTCHA threshold (ARGV[7], 0 = none) without a solved CAPTCHA (ARGV[8] = 1); otherwise
// count, and past `free` start the next wait now, before the attempt is evaluated. The 5th
// element says the attempt is past the CAPTCHA threshold.
export const GATE = `
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
export const HINCRBY_MANY = `
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

// Leases (KEYS[1] the lease, holding its owner): take or renew; release; and the fenced publish,
// which publishes and saves the holder's state (KEYS[2]) only while ARGV[1] still holds the lease.
export const LEASE_ACQUIRE = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;
export const LEASE_RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1`;
export const LEASE_PUBLISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 4, #ARGV do redis.call('PUBLISH', ARGV[2], ARGV[i]) end
redis.call('SET', KEYS[2], ARGV[3])
return 1
`;

// Sliding-window log (a sorted set scored by time): trim, read, add, cap at the newest max + 1,
// expire, in one step. ARGV: now, windowMs, max, a unique member. Returns {before, retryAt}.
export const WINDOW_RESERVE = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(max + 2))
redis.call('PEXPIRE', KEYS[1], window)
local retryAt = 0
if before >= max then
  local n = redis.call('ZCARD', KEYS[1])
  local e = redis.call('ZRANGE', KEYS[1], n - max, n - max, 'WITHSCORES')
  retryAt = (tonumber(e[2]) or now) + window
end
return {before, retryAt}
`;
