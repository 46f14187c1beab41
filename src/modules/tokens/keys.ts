import { sql } from 'drizzle-orm';
import {
  calculateJwkThumbprint,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type CryptoKey,
  type JWK,
} from 'jose';
import type { Db } from '../../db/client.js';
import type { Clock } from '../../shared/clock.js';
import { decrypt, deriveKey, encrypt } from '../../shared/crypto.js';
import type { Logger } from '../../shared/logger.js';
import type { PubSub } from '../../shared/store.js';
import { signingKeys, type SigningKeyRow } from './tables.js';

export const SIGNING_ALG = 'EdDSA';
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
/** Arbitrary constant for pg_advisory_xact_lock: one instance creates or rotates keys at a time. */
const KEY_LOCK = 7_311_001;

export type KeyRing = {
  /** The key new tokens are signed with. */
  current(): { kid: string; key: CryptoKey };
  /** Public key by kid; reloads from the database (at most every few seconds) for an unknown kid. */
  publicKey(kid: string): Promise<CryptoKey | null>;
  /** The JWKS document: the current key and retired keys whose tokens may still be live. */
  jwks(): { keys: JWK[] };
  rotate(): Promise<void>;
  reload(): Promise<void>;
  stop(): void;
};

type Loaded = { kid: string; privateKey: CryptoKey; publicKey: CryptoKey; publicJwk: JWK; row: SigningKeyRow };

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
}): Promise<KeyRing> {
  const wrapKey = deriveKey(deps.secretKey, 'signing-keys');
  let keys: Loaded[] = [];
  let lastReload = 0;

  const load = async (row: SigningKeyRow): Promise<Loaded> => {
    let pem: string;
    try {
      pem = decrypt(wrapKey, row.privateKeyEncrypted);
    } catch {
      throw new Error(`SECRET_KEY cannot decrypt signing key ${row.kid}: was SECRET_KEY changed?`);
    }
    return {
      kid: row.kid,
      privateKey: await importPKCS8(pem, SIGNING_ALG),
      publicKey: (await importJWK(row.publicJwk as JWK, SIGNING_ALG)) as CryptoKey,
      publicJwk: row.publicJwk as JWK,
      row,
    };
  };

  // retiredAt is when a key stops signing; its tokens live on for the access TTL (plus skew).
  const published = (row: SigningKeyRow) =>
    !row.retiredAt || row.retiredAt.getTime() + deps.accessTokenTtlMs + 60_000 > deps.clock.now();

  const reload = async () => {
    lastReload = performance.now();
    const rows = await deps.db.select().from(signingKeys);
    const live = rows.filter(published).sort(newestFirst);
    keys = await Promise.all(live.map(load));
  };

  /**
   * The newest unretired key published for PUBLISH_AHEAD_MS; when none is that old (first
   * start, or a rotation soon after it), the longest-published unretired one.
   */
  const signer = (): Loaded | undefined => {
    const now = deps.clock.now();
    const unretired = keys.filter((k) => !k.row.retiredAt || k.row.retiredAt.getTime() > now);
    return unretired.find((k) => k.row.createdAt.getTime() <= now - PUBLISH_AHEAD_MS) ?? unretired.at(-1);
  };

  /** Creates a key when none is active, or replaces the active one when `force` or it is too old. */
  const ensure = async (force: boolean) => {
    const created = await deps.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK})`);
      const active = (await tx.select().from(signingKeys)).filter((r) => !r.retiredAt);
      const now = deps.clock.now();
      const fresh = active.filter((r) => now - r.createdAt.getTime() < KEY_ROTATION_MS);
      if (!force && fresh.length) return false;
      const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
      const jwk = await exportJWK(publicKey);
      const kid = await calculateJwkThumbprint(jwk);
      const publicJwk = { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' };
      const encrypted = encrypt(wrapKey, await exportPKCS8(privateKey));
      // The old key keeps signing until the new one has been published long enough.
      for (const row of active) {
        await tx.update(signingKeys).set({ retiredAt: new Date(now + PUBLISH_AHEAD_MS) }).where(sql`${signingKeys.kid} = ${row.kid}`);
      }
      await tx.insert(signingKeys).values({ kid, alg: SIGNING_ALG, publicJwk, privateKeyEncrypted: encrypted, createdAt: new Date(now) });
      deps.logger.info({ kid }, active.length ? 'signing key rotated' : 'signing key created');
      return true;
    });
    await reload();
    // Other instances reload at once instead of at their next tick.
    if (created) await deps.pubsub.publish(CHANNEL, 'changed');
  };

  const unsubscribe = await deps.pubsub.subscribe(CHANNEL, () => {
    reload().catch((err) => deps.logger.error({ err }, 'signing key reload failed'));
  });
  await ensure(false);
  const timer = setInterval(() => {
    ensure(false).catch((err) => deps.logger.error({ err }, 'signing key reload failed'));
  }, RELOAD_MS);
  timer.unref();

  return {
    current() {
      const key = signer();
      if (!key) throw new Error('no signing key loaded');
      return { kid: key.kid, key: key.privateKey };
    },
    async publicKey(kid) {
      let found = keys.find((k) => k.kid === kid);
      // A key this instance missed (a lost message): look once, throttled.
      if (!found && performance.now() - lastReload > UNKNOWN_KID_RELOAD_MS) {
        await reload();
        found = keys.find((k) => k.kid === kid);
      }
      return found?.publicKey ?? null;
    },
    jwks: () => ({ keys: keys.map((k) => k.publicJwk) }),
    rotate: () => ensure(true),
    reload,
    stop: () => {
      clearInterval(timer);
      void unsubscribe().catch(() => undefined);
    },
  };
}

/** Newest first; on equal creation times, a successor (retired later, or not at all) first. */
function newestFirst(a: SigningKeyRow, b: SigningKeyRow): number {
  const retired = (r: SigningKeyRow) => r.retiredAt?.getTime() ?? Number.POSITIVE_INFINITY;
  return b.createdAt.getTime() - a.createdAt.getTime() || retired(b) - retired(a);
}
