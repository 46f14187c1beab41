import { EventEmitter } from 'node:events';
import type { RotateInput, RotateResult, SessionRecord, Store } from './store.js';

type RefreshEntry = { expiresAt: number; rotatedAt?: number; successorBox?: string };
type Expiring = { value: string; expiresAt: number };

/**
 * The in-process store of the embedded default. Every method runs to completion without
 * awaiting in between, so on one Node process each is atomic. It is lost on restart
 * (sessions end; users and keys live in the database) and is not shared between instances.
 */
export function createMemoryStore(options: { now?: () => number; sweepMs?: number } = {}): Store {
  const now = options.now ?? Date.now;
  const sessions = new Map<string, SessionRecord>();
  const byUser = new Map<string, Set<string>>();
  // session id → refresh token hash → entry, so a session's tokens die with it in O(1).
  const refresh = new Map<string, Map<string, RefreshEntry>>();
  const counters = new Map<string, { count: number; resetAt: number }>();
  const codes = new Map<string, Expiring>();
  const gates = new Map<string, { count: number; until: number; expiresAt: number }>();
  // Sliding-window logs: call times, oldest first, with the window they were counted in.
  const windows = new Map<string, { times: number[]; windowMs: number }>();
  const histograms = new Map<string, { counts: Map<string, number>; expiresAt: number }>();
  const bus = new EventEmitter().setMaxListeners(0);
  const leases = new Map<string, { owner: string; expiresAt: number }>();
  const leaseStates = new Map<string, string>();
  const holds = (name: string, owner: string) => {
    const lease = leases.get(name);
    return !!lease && lease.owner === owner && lease.expiresAt > now();
  };

  const removeSession = (id: string): SessionRecord | null => {
    const session = sessions.get(id);
    if (!session) return null;
    sessions.delete(id);
    byUser.get(session.userId)?.delete(id);
    refresh.delete(id);
    return session;
  };
  const liveCode = (key: string) => {
    const entry = codes.get(key);
    if (entry && entry.expiresAt <= now()) codes.delete(key);
    return entry && entry.expiresAt > now() ? entry.value : null;
  };

  // Expired entries are also dropped lazily; the sweep only bounds memory.
  const sweep = setInterval(() => {
    const t = now();
    for (const [id, s] of sessions) if (s.expiresAt <= t) removeSession(id);
    for (const tokens of refresh.values()) for (const [hash, r] of tokens) if (r.expiresAt <= t) tokens.delete(hash);
    for (const [key, c] of counters) if (c.resetAt <= t) counters.delete(key);
    for (const [key, c] of codes) if (c.expiresAt <= t) codes.delete(key);
    for (const [key, g] of gates) if (g.expiresAt <= t) gates.delete(key);
    for (const [key, w] of windows) if ((w.times.at(-1) ?? 0) + w.windowMs <= t) windows.delete(key);
    for (const [key, h] of histograms) if (h.expiresAt <= t) histograms.delete(key);
  }, options.sweepMs ?? 60_000);
  sweep.unref();

  return {
    kind: 'memory',
    sessions: {
      async create(session, first) {
        sessions.set(session.id, { ...session });
        let set = byUser.get(session.userId);
        if (!set) byUser.set(session.userId, (set = new Set()));
        set.add(session.id);
        refresh.set(session.id, new Map([[first.hash, { expiresAt: first.expiresAt }]]));
      },
      async get(id, at) {
        const session = sessions.get(id);
        return session && session.expiresAt > at ? { ...session, amr: [...session.amr] } : null;
      },
      async touch(id, lastSeenAt) {
        const session = sessions.get(id);
        if (session) session.lastSeenAt = lastSeenAt;
      },
      async delete(id) {
        return removeSession(id);
      },
      async listByUser(userId, at) {
        const ids = [...(byUser.get(userId) ?? [])];
        return ids.map((id) => sessions.get(id)).filter((s): s is SessionRecord => !!s && s.expiresAt > at);
      },
      async deleteByUser(userId, exceptId) {
        const ids = [...(byUser.get(userId) ?? [])].filter((id) => id !== exceptId);
        for (const id of ids) removeSession(id);
        return ids;
      },
      async rotateRefresh(input: RotateInput): Promise<RotateResult> {
        const session = sessions.get(input.sessionId);
        const tokens = refresh.get(input.sessionId);
        const entry = tokens?.get(input.oldHash);
        if (!session || !tokens || !entry || session.expiresAt <= input.now || entry.expiresAt <= input.now) return { status: 'invalid' };
        if (entry.rotatedAt !== undefined) {
          if (input.graceMs > 0 && input.now - entry.rotatedAt <= input.graceMs) {
            return { status: 'grace', session: { ...session }, successorBox: entry.successorBox ?? '' };
          }
          removeSession(session.id);
          return { status: 'reused', session };
        }
        entry.rotatedAt = input.now;
        entry.successorBox = input.successorBox;
        tokens.set(input.next.hash, { expiresAt: session.expiresAt });
        session.lastSeenAt = input.now;
        return { status: 'rotated', session: { ...session } };
      },
    },
    counters: {
      async increment(key, windowMs) {
        const t = now();
        let counter = counters.get(key);
        if (!counter || counter.resetAt <= t) counters.set(key, (counter = { count: 0, resetAt: t + windowMs }));
        counter.count++;
        return { count: counter.count, resetInMs: counter.resetAt - t };
      },
      async reset(key) {
        counters.delete(key);
      },
    },
    windows: {
      async reserve(key, { now: at, windowMs, max }) {
        // Oldest first (calls run one at a time here, each at its own now): what left the window
        // and what is beyond the newest max + 1 leave from the front, so a call costs the same
        // whatever the count (Array#shift trims in place).
        const times = windows.get(key)?.times ?? [];
        while (times.length && times[0]! <= at - windowMs) times.shift();
        const before = times.length;
        times.push(at);
        while (times.length > Math.max(0, max) + 1) times.shift();
        windows.set(key, { times, windowMs });
        const retryAt = before >= max ? (times[times.length - max] ?? at) + windowMs : 0;
        return { before, retryAt };
      },
    },
    gates: {
      async begin(key, o) {
        const t = now();
        let gate = gates.get(key);
        if (gate && gate.expiresAt <= t) gate = undefined;
        const count = gate?.count ?? 0;
        if (gate && count >= o.hard) return { allowed: false, attempts: count, locked: true, retryAt: o.now + (gate.expiresAt - t) };
        if (gate && count >= o.free && gate.until > o.now) return { allowed: false, attempts: count, locked: false, retryAt: gate.until };
        const captcha = !!o.captcha && o.captcha.after > 0 && count >= o.captcha.after;
        if (captcha && !o.captcha?.solved) return { allowed: false, attempts: count, locked: false, retryAt: o.now, captcha };
        const attempt = count + 1;
        const until = attempt >= o.free ? o.now + Math.min(o.baseDelayMs * 2 ** (attempt - o.free), o.maxDelayMs) : 0;
        gates.set(key, { count: attempt, until, expiresAt: t + o.ttlMs });
        return captcha ? { allowed: true, attempt, captcha } : { allowed: true, attempt };
      },
      async peek(key) {
        const gate = gates.get(key);
        return gate && gate.expiresAt > now() ? gate.count : 0;
      },
      async reset(key) {
        gates.delete(key);
      },
    },
    codes: {
      async set(key, value, ttlMs) {
        codes.set(key, { value, expiresAt: now() + ttlMs });
      },
      async get(key) {
        return liveCode(key);
      },
      async takeIf(key, expected) {
        if (liveCode(key) !== expected) return false;
        codes.delete(key);
        return true;
      },
      async delete(key) {
        codes.delete(key);
      },
    },
    pubsub: {
      async publish(channel, message) {
        // Delivered on a later tick, as Redis would: a publisher never runs subscribers inline.
        setImmediate(() => bus.emit(channel, message));
      },
      async subscribe(channel, onMessage) {
        bus.on(channel, onMessage);
        return async () => {
          bus.off(channel, onMessage);
        };
      },
    },
    histograms: {
      async add(entries) {
        const t = now();
        for (const { key, counts, ttlMs } of entries) {
          let hash = histograms.get(key);
          if (!hash || hash.expiresAt <= t) histograms.set(key, (hash = { counts: new Map(), expiresAt: 0 }));
          for (const [field, n] of Object.entries(counts)) hash.counts.set(field, (hash.counts.get(field) ?? 0) + n);
          hash.expiresAt = t + ttlMs;
        }
      },
      async read(keys) {
        const t = now();
        const sums = new Map<string, number>();
        for (const key of keys) {
          const hash = histograms.get(key);
          if (!hash || hash.expiresAt <= t) continue;
          for (const [field, n] of hash.counts) sums.set(field, (sums.get(field) ?? 0) + n);
        }
        return sums;
      },
    },
    leases: {
      async acquire(name, owner, ttlMs) {
        const lease = leases.get(name);
        if (lease && lease.owner !== owner && lease.expiresAt > now()) return false;
        leases.set(name, { owner, expiresAt: now() + ttlMs });
        return true;
      },
      async release(name, owner) {
        if (holds(name, owner)) leases.delete(name);
      },
      async state(name) {
        return leaseStates.get(name) ?? null;
      },
      async publish(name, owner, { channel, messages, state }) {
        if (!holds(name, owner)) return false;
        leaseStates.set(name, state);
        setImmediate(() => {
          for (const message of messages) bus.emit(channel, message);
        });
        return true;
      },
    },
    async ping() {},
    async close() {
      clearInterval(sweep);
      bus.removeAllListeners();
    },
  };
}
