import { sql } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';
import type { Db, Tx } from '../../db/client.js';
import type { Clock } from '../../shared/clock.js';
import { decrypt, deriveKey, encrypt } from '../../shared/crypto.js';
import type { Logger } from '../../shared/logger.js';
import type { PubSub } from '../../shared/store.js';
import { signingKeys, type SigningKeyRow } from './tables.js';

/** The JWS algorithms a key may have (JWT_ALG); each key keeps its own in `alg`. */
export const SIGNING_ALGS = ['EdDSA', 'ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
/** Keys older than this are replaced; the old one stays published until its tokens expire. */
export const KEY_ROTATION_MS = 90 * 86_400_000;
/**
 * A new key is published this long before it signs, so verifiers holding a cached JWKS
 * (served with max-age 300 s) and instances between reloads (60 s) know it by then.
 */
export const PUBLISH_AHEAD_MS = 10 * 60_000;
const RELOAD_MS = 60_000;
/** Real time between reloads for unknown kids: a flood of forged kids cannot hammer the database. */
const UNKNOWN_KID_RELOAD_MS = 1_000;
const CHANNEL = 'signing-keys';
/** Prefix of the pub/sub message that names a revoked kid (any other message means "reload"). */
const REVOKED = 'revoked:';
/** Arbitrary constant for pg_advisory_xact_lock: one instance creates or rotates keys at a time. */
const KEY_LOCK = 7_311_001;

export type KeyRing = {
  /** The key new tokens are signed with, and its algorithm. */
  current(): { kid: string; key: CryptoKey; alg: SigningAlg };
  /**
   * Public key by kid, with the one algorithm it verifies (no alg confusion: a token is checked
   * only with the alg of the key its kid names); reloads from the database (at most every few
   * seconds) for an unknown kid.
   */
  publicKey(kid: string): Promise<{ key: CryptoKey; alg: SigningAlg } | null>;
  /** Whether a kid is still in the key ring (synchronous: the verifier cache asks on every hit). */
  trusts(kid: string): boolean;
  /** The JWKS document: the current key and retired keys whose tokens may still be live. */
  jwks(): { keys: JWK[] };
  rotate(): Promise<void>;
  /**
   * Emergency retirement of a leaked key (the current signer unless `kid` names another): its row
   * is deleted, every instance drops it, and a new key signs at once. Returns the revoked kid.
   */
  revoke(kid?: string): Promise<string>;
  reload(): Promise<void>;
  stop(): void;
};

type Loaded = { kid: string; alg: SigningAlg; privateKey: CryptoKey; publicKey: CryptoKey; publicJwk: JWK; row: SigningKeyRow };

/**
 * Signing keys live in the database, private halves encrypted with a key derived from
 * SECRET_KEY (ASVS 5.0 V11.4: keys protected at rest), so every instance signs with the same key.
 */
export async function createKeyRing(deps: {
  db: Db;
  secretKey: string;
  clock: Clock;
  logger: Logger;
  pubsub: PubSub;
  accessTokenTtlMs: number;
  /** The algorithm of new keys (JWT_ALG). @default EdDSA */
  alg?: SigningAlg;
  /** The monotonic clock the unknown-kid reload throttle is measured on (tests inject theirs). @default performance.now */
  monotonic?: () => number;
}): Promise<KeyRing> {
  const monotonic = deps.monotonic ?? (() => performance.now());
  const alg = deps.alg ?? 'EdDSA';
  const wrapKey = deriveKey(deps.secretKey, 'signing-keys');
  let keys: Loaded[] = [];
  /** Kids revoked while this process runs (thumbprints: never reused). */
  const revokedKids = new Set<string>();
  let lastReload = 0;

  const load = async (row: SigningKeyRow): Promise<Loaded> => {
    let pem: string;
    try {
      pem = decrypt(wrapKey, row.privateKeyEncrypted);
    } catch {
      throw new Error(`SECRET_KEY cannot decrypt signing key ${row.kid}: was SECRET_KEY changed?`);
    }
    const keyAlg = row.alg as SigningAlg;
    if (!SIGNING_ALGS.includes(keyAlg)) throw new Error(`signing key ${row.kid} has an unknown alg`);
    return {
      kid: row.kid,
      alg: keyAlg,
      privateKey: await importPKCS8(pem, keyAlg),
      publicKey: (await importJWK(row.publicJwk as JWK, keyAlg)) as CryptoKey,
      publicJwk: row.publicJwk as JWK,
      row,
    };
  };

  // retiredAt is when a key stops signing; its tokens live on for the access TTL (plus skew).
  const published = (row: SigningKeyRow) => !row.retiredAt || row.retiredAt.getTime() + deps.accessTokenTtlMs + 60_000 > deps.clock.now();

  const reload = async () => {
    lastReload = monotonic();
    const rows = await deps.db.select().from(signingKeys);
    const live = rows.filter(published).sort(newestFirst);
    const loaded = await Promise.all(live.map(load));
    // Filtered after the awaits: a revocation may have been heard since the read.
    keys = loaded.filter((k) => !revokedKids.has(k.kid));
  };

  /**
   * The newest unretired key published for PUBLISH_AHEAD_MS; when none is that old (first
   * start, or a rotation soon after it), the longest-published unretired one.
   */
  const signer = (): Loaded | undefined => {
    const row = signerOf(
      keys.map((k) => k.row),
      deps.clock.now(),
    );
    return row && keys.find((k) => k.kid === row.kid);
  };

  /**
   * Inserts a new key; the active ones stop signing `retireInMs` from now (the new key signs once
   * they have: at once for 0, which only a revocation uses).
   */
  const insertKey = async (tx: Tx, active: SigningKeyRow[], now: number, retireInMs: number) => {
    const { publicKey, privateKey } = await generateKeyPair(alg, KEY_OPTIONS[alg]);
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    // kid, alg and use on every key: verifiers pick the key by kid and check alg (RFC 7517 §4).
    const publicJwk = { ...jwk, kid, alg, use: 'sig' };
    const encrypted = encrypt(wrapKey, await exportPKCS8(privateKey));
    for (const row of active) {
      await tx
        .update(signingKeys)
        .set({ retiredAt: new Date(now + retireInMs) })
        .where(sql`${signingKeys.kid} = ${row.kid}`);
    }
    await tx.insert(signingKeys).values({ kid, alg, publicJwk, privateKeyEncrypted: encrypted, createdAt: new Date(now) });
    return kid;
  };

  /**
   * Creates a key when none is active, or replaces the active one when `force` or it is too old;
   * with `checkAlg` (at start) also when no active key has JWT_ALG's algorithm. Only at start: an
   * instance of a rolling deploy still running the old JWT_ALG must not rotate back every minute.
   */
  const ensure = async (force: boolean, checkAlg = false) => {
    const created = await deps.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK})`);
      const active = (await tx.select().from(signingKeys)).filter((r) => !r.retiredAt);
      const now = deps.clock.now();
      const fresh = active.filter((r) => now - r.createdAt.getTime() < KEY_ROTATION_MS && (!checkAlg || r.alg === alg));
      if (!force && fresh.length) return false;
      // The old key keeps signing until the new one has been published long enough.
      const kid = await insertKey(tx, active, now, PUBLISH_AHEAD_MS);
      deps.logger.info({ kid, alg }, active.length ? 'signing key rotated' : 'signing key created');
      return true;
    });
    await reload();
    // Other instances reload at once instead of at their next tick.
    if (created) await deps.pubsub.publish(CHANNEL, 'changed');
  };

  const revoke = async (target?: string) => {
    const revoked = await deps.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK})`);
      const rows = await tx.select().from(signingKeys);
      const now = deps.clock.now();
      const signing = signerOf(rows.filter(published), now);
      const kid = target ?? signing?.kid;
      if (!kid || !rows.some((r) => r.kid === kid)) throw new Error(`no signing key ${kid ?? ''} to revoke`.trim());
      // Deleted, not marked: a leaked private key has no further use, even encrypted.
      await tx.delete(signingKeys).where(sql`${signingKeys.kid} = ${kid}`);
      if (kid === signing?.kid) {
        // A key published ahead but not signing yet was made the same way: replaced too.
        const active = rows.filter((r) => r.kid !== kid && (!r.retiredAt || r.retiredAt.getTime() > now));
        const successor = await insertKey(tx, active, now, 0);
        deps.logger.warn({ kid, successor }, 'signing key revoked; a new key signs now');
      } else {
        deps.logger.warn({ kid }, 'signing key revoked');
      }
      return kid;
    });
    forget(revoked);
    await reload();
    await deps.pubsub.publish(CHANNEL, `${REVOKED}${revoked}`);
    return revoked;
  };

  /**
   * Drops a revoked key from memory at once, before the reload that confirms it, and for good: a
   * reload that read the table before the revocation committed must not bring it back.
   */
  const forget = (kid: string) => {
    revokedKids.add(kid);
    keys = keys.filter((k) => k.kid !== kid);
  };

  const unsubscribe = await deps.pubsub.subscribe(CHANNEL, (message) => {
    if (message.startsWith(REVOKED)) forget(message.slice(REVOKED.length));
    reload().catch((err) => deps.logger.error({ err }, 'signing key reload failed'));
  });
  await ensure(false, true);
  const timer = setInterval(() => {
    ensure(false).catch((err) => deps.logger.error({ err }, 'signing key reload failed'));
  }, RELOAD_MS);
  timer.unref();

  return {
    current() {
      const key = signer();
      if (!key) throw new Error('no signing key loaded');
      return { kid: key.kid, key: key.privateKey, alg: key.alg };
    },
    async publicKey(kid) {
      let found = keys.find((k) => k.kid === kid);
      // A key this instance missed (a lost message): look once, throttled.
      if (!found && monotonic() - lastReload > UNKNOWN_KID_RELOAD_MS) {
        await reload();
        found = keys.find((k) => k.kid === kid);
      }
      return found ? { key: found.publicKey, alg: found.alg } : null;
    },
    trusts: (kid) => keys.some((k) => k.kid === kid),
    jwks: () => ({ keys: keys.map((k) => k.publicJwk) }),
    rotate: () => ensure(true),
    revoke,
    reload,
    stop: () => {
      clearInterval(timer);
      void unsubscribe().catch(() => undefined);
    },
  };
}

/** Key generation per algorithm: Ed25519, P-256, and 2048-bit RSA (NIST SP 800-57 Part 1: 112-bit strength). */
const KEY_OPTIONS: Record<SigningAlg, { crv?: string; modulusLength?: number; extractable: true }> = {
  EdDSA: { crv: 'Ed25519', extractable: true },
  ES256: { extractable: true },
  RS256: { modulusLength: 2048, extractable: true },
};

/**
 * The key that signs at `now`: the newest unretired key published for PUBLISH_AHEAD_MS; when none
 * is that old (first start, a rotation soon after it, or a revocation), the longest-published
 * unretired one.
 */
function signerOf(rows: SigningKeyRow[], now: number): SigningKeyRow | undefined {
  const unretired = [...rows].sort(newestFirst).filter((r) => !r.retiredAt || r.retiredAt.getTime() > now);
  return unretired.find((r) => r.createdAt.getTime() <= now - PUBLISH_AHEAD_MS) ?? unretired.at(-1);
}

/** Newest first; on equal creation times, a successor (retired later, or not at all) first. */
function newestFirst(a: SigningKeyRow, b: SigningKeyRow): number {
  const retired = (r: SigningKeyRow) => r.retiredAt?.getTime() ?? Number.POSITIVE_INFINITY;
  return b.createdAt.getTime() - a.createdAt.getTime() || retired(b) - retired(a);
}
