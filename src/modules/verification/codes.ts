import type { Deps } from '../../deps.js';
import { safeEqual, sha256 } from '../../shared/crypto.js';
import type { Random } from '../../shared/random.js';

/** SMS and email codes (README "Email and phone flows"): 6 digits, 5 minutes, 5 wrong tries. */
export const CODE_TTL_MS = 5 * 60_000;
export const CODE_MAX_TRIES = 5;

type CodeDeps = Pick<Deps, 'store' | 'clock' | 'random'>;

type CodeRecord<P> = { id: string; hash: string; expiresAt: number; payload: P };

export type CodeCheck<P> = { ok: true; payload: P } | { ok: false; reason: 'none' | 'wrong' | 'exhausted' };

/** A uniformly random 6-digit code (rejection sampling: no modulo bias). */
export function randomDigits(random: Random, digits = 6): string {
  const range = 10 ** digits;
  const limit = Math.floor(0x1_0000_0000 / range) * range;
  for (;;) {
    const n = random.bytes(4).readUInt32BE(0);
    if (n < limit) return String(n % range).padStart(digits, '0');
  }
}

/**
 * Issues a code under `key` (one live code per key: a new one replaces the old, and its tries
 * start again). Only a salted hash is stored; `payload` travels with it (e.g. the phone number
 * being verified). Returns the code to send.
 */
export async function issueCode<P>(deps: CodeDeps, key: string, payload: P, ttlMs = CODE_TTL_MS): Promise<string> {
  const code = randomDigits(deps.random);
  const id = deps.random.token(12);
  const record: CodeRecord<P> = { id, hash: sha256(`${id}:${code}`), expiresAt: deps.clock.now() + ttlMs, payload };
  await deps.store.codes.set(key, JSON.stringify(record), ttlMs);
  return code;
}

/**
 * Checks a code. Each try is counted atomically before the comparison, so however many run
 * at once no more than CODE_MAX_TRIES are compared; after that the code is void. A right code
 * is then taken atomically: of concurrent right answers exactly one succeeds.
 */
export async function checkCode<P>(deps: CodeDeps, key: string, code: string): Promise<CodeCheck<P>> {
  const raw = await deps.store.codes.get(key);
  if (!raw) return { ok: false, reason: 'none' };
  const record = JSON.parse(raw) as CodeRecord<P>;
  if (record.expiresAt <= deps.clock.now()) return { ok: false, reason: 'none' };
  const { count } = await deps.store.counters.increment(`code-tries:${record.id}`, CODE_TTL_MS);
  if (count > CODE_MAX_TRIES) return { ok: false, reason: 'exhausted' };
  const candidate = /^\d{6}$/.test(code.trim()) ? code.trim() : '';
  if (!safeEqual(sha256(`${record.id}:${candidate}`), record.hash)) return { ok: false, reason: count === CODE_MAX_TRIES ? 'exhausted' : 'wrong' };
  // Only the taker of this very record wins; a newer code issued meanwhile stays.
  if (!(await deps.store.codes.takeIf(key, raw))) return { ok: false, reason: 'none' };
  return { ok: true, payload: record.payload };
}
