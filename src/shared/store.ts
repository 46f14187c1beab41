/**
 * The fast, shared, expiring state of the gateway: sessions, refresh tokens, counters,
 * one-time codes and pub/sub. Two adapters: Redis (any number of instances) and in-process
 * (the embedded default, one instance). Each method states what is atomic; nothing else is.
 *
 * Times are passed in from `deps.clock` (milliseconds) wherever a decision depends on them,
 * so a test that moves the clock moves every expiry and grace window on both adapters.
 */
export type SessionRecord = {
  id: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  ip: string | null;
  userAgent: string | null;
  /** RFC 8176 authentication method references, e.g. ["pwd"]. */
  amr: string[];
  mfaVerified: boolean;
  /**
   * A login waiting for its second factor: not a usable session (no one holds its refresh token),
   * but kept with the user's sessions so that whatever ends those (a reset, a password change,
   * an admin's revocation) ends it too.
   */
  pending?: boolean;
};

export type NewRefreshToken = { hash: string; expiresAt: number };

export type RotateInput = {
  sessionId: string;
  oldHash: string;
  /**
   * The successor's hash. It expires with the session: rotation never extends a session,
   * so a session ends REFRESH_TOKEN_TTL after sign-in however active it is
   * (NIST SP 800-63B §7.2: reauthenticate at least every 30 days).
   */
  next: { hash: string };
  /** The successor token encrypted under a key derived from the old token (see tokens/refresh.ts). */
  successorBox: string;
  now: number;
  graceMs: number;
};

export type RotateResult =
  /** The old token was current: it is now rotated and `next` is stored. */
  | { status: 'rotated'; session: SessionRecord }
  /** The old token was rotated less than `graceMs` ago: answer with the same successor. */
  | { status: 'grace'; session: SessionRecord; successorBox: string }
  /** The old token was rotated earlier: the session is deleted (reuse of a stolen token). */
  | { status: 'reused'; session: SessionRecord }
  /** Unknown or expired token, or its session is gone. */
  | { status: 'invalid' };

export type SessionStore = {
  /** Stores a session and its first refresh token. */
  create(session: SessionRecord, refresh: NewRefreshToken): Promise<void>;
  /** The session, or null when it is unknown or expired at `now`. */
  get(id: string, now: number): Promise<SessionRecord | null>;
  /** Records activity; best effort. */
  touch(id: string, lastSeenAt: number): Promise<void>;
  /** Deletes one session (its refresh tokens die with it); returns what was deleted. */
  delete(id: string): Promise<SessionRecord | null>;
  listByUser(userId: string, now: number): Promise<SessionRecord[]>;
  /** Deletes every session of a user except `exceptId`; returns the ids deleted. */
  deleteByUser(userId: string, exceptId?: string): Promise<string[]>;
  /** Atomic: of any number of concurrent calls with one token, exactly one rotates it. */
  rotateRefresh(input: RotateInput): Promise<RotateResult>;
};

export type CounterStore = {
  /** Atomic increment within a fixed window that starts at the first hit. */
  increment(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  reset(key: string): Promise<void>;
};

/**
 * Sliding-window logs for the field rate limits (abuse/field-limits.ts, shared/rate-limit.ts).
 * `reserve` is atomic: it drops entries older than `windowMs`, reads how many are
 * left, and adds this call, in one step; so of any number of concurrent calls each sees a
 * different count and exactly `max` see fewer than `max`. Refused calls are counted too (the
 * slot is taken before the caller decides); only the newest `max + 1` entries are kept, which
 * is all a decision needs, and a key lives `windowMs` after its last call.
 */
export type WindowStore = {
  reserve(
    key: string,
    options: { now: number; windowMs: number; max: number },
  ): Promise<{
    /** Calls in the window before this one. */
    before: number;
    /** When `before >= max`: the earliest time a next call would be let through. */
    retryAt: number;
  }>;
};

export type GateOptions = {
  now: number;
  /** Attempts allowed without waiting; from this attempt on, each one sets a wait before the next. */
  free: number;
  /** Counted attempts after which everything is refused until reset (or the entry expires). */
  hard: number;
  /** The wait after attempt `free` is `baseDelayMs`, doubling with each attempt, at most `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How long an entry lives after its last counted attempt. */
  ttlMs: number;
  /**
   * The CAPTCHA step, decided in the same atomic step as the count: attempts numbered past
   * `after` need `solved` (a token the provider accepted); without it they are refused uncounted.
   */
  captcha?: { after: number; solved: boolean };
};

export type GateResult =
  /** `captcha`: this attempt is past `captcha.after` (it was let through only because `solved`). */
  | { allowed: true; attempt: number; captcha?: boolean }
  /** `captcha`: refused (uncounted) for want of a solved CAPTCHA; then `retryAt` is `now`. */
  | { allowed: false; attempts: number; locked: boolean; retryAt: number; captcha?: boolean };

/**
 * Consecutive-failure gates (login lockout). `begin` is atomic: it refuses without counting
 * while a wait is running or the gate is locked, or (with `captcha`) when the attempt would be
 * past `captcha.after` without a solved CAPTCHA, and otherwise counts the attempt and, past
 * `free`, starts the next wait at once, before the attempt is even evaluated. So of any
 * number of concurrent attempts no more are evaluated than the policy allows.
 */
export type GateStore = {
  begin(key: string, options: GateOptions): Promise<GateResult>;
  /** Counted attempts so far (0 when none). */
  peek(key: string): Promise<number>;
  /** Forgets the failures: a success, a password reset, an admin unlock. */
  reset(key: string): Promise<void>;
};

export type CodeStore = {
  set(key: string, value: string, ttlMs: number): Promise<void>;
  get(key: string): Promise<string | null>;
  /**
   * Atomic compare-and-delete: deletes the value only while it is still `expected` (a newer value
   * under the key stays). Of concurrent takers of one value, exactly one gets true.
   */
  takeIf(key: string, expected: string): Promise<boolean>;
  delete(key: string): Promise<void>;
};

export type PubSub = {
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; the returned function unsubscribes. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
};

/**
 * Counters in hashes that every instance adds to and anyone reads summed across keys: the
 * latency histograms (analytics/latency.ts): one hash per time slot, a field per operation and bucket.
 */
export type HistogramStore = {
  /**
   * Adds each entry's counts to the fields of the hash `key` and sets it to expire `ttlMs` from
   * now. Atomic per entry, so adds from any number of instances sum exactly; one round trip.
   */
  add(entries: ReadonlyArray<{ key: string; counts: Readonly<Record<string, number>>; ttlMs: number }>): Promise<void>;
  /** The field-wise sum of the hashes `keys`; a missing or expired key counts as empty. */
  read(keys: readonly string[]): Promise<Map<string, number>>;
};

/**
 * Leases: work that must run on one instance of a deployment at a time (the audit relay), with
 * state that the next holder resumes from. A lease is held until released or until `ttlMs`
 * passes without a renewal, so a crashed holder's lease frees itself.
 */
export type LeaseStore = {
  /** Atomic: takes the lease when free or expired, or renews it when `owner` holds it. True when `owner` holds it now. */
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, if `owner` holds it. */
  release(name: string, owner: string): Promise<void>;
  /** The state last saved under the lease, or null. */
  state(name: string): Promise<string | null>;
  /**
   * Atomic and fenced: only while `owner` holds the lease, publishes `messages` on `channel` in
   * order and saves `state`, all or nothing. False, with nothing done, when `owner` lost the lease:
   * a holder whose lease expired mid-work can never publish what its successor also publishes.
   */
  publish(name: string, owner: string, input: { channel: string; messages: string[]; state: string }): Promise<boolean>;
};

export type Store = {
  readonly kind: 'memory' | 'redis';
  sessions: SessionStore;
  counters: CounterStore;
  windows: WindowStore;
  gates: GateStore;
  codes: CodeStore;
  pubsub: PubSub;
  histograms: HistogramStore;
  leases: LeaseStore;
  /** Throws when the store is unreachable (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
};
