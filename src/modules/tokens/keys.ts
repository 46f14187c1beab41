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
import { signingKeys, type SigningKeyRow } from './tables.js';

export const SIGNING_ALG = 'EdDSA';
/** Keys older than this are replaced; the old one stays published until its tokens expire. */
export const KEY_ROTATION_MS = 90 * 86_400_000;
const RELOAD_MS = 60_000;
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

  const published = (row: SigningKeyRow) =>
    !row.retiredAt || row.retiredAt.getTime() + deps.accessTokenTtlMs + 60_000 > deps.clock.now();

  const reload = async () => {
    const rows = await deps.db.select().from(signingKeys);
    const live = rows.filter(published).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    keys = await Promise.all(live.map(load));
    lastReload = deps.clock.now();
  };

  /** Creates a key when none is active, or replaces the active one when `force` or it is too old. */
  const ensure = async (force: boolean) => {
    await deps.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK})`);
      const active = (await tx.select().from(signingKeys)).filter((r) => !r.retiredAt);
      const now = deps.clock.now();
      const fresh = active.filter((r) => now - r.createdAt.getTime() < KEY_ROTATION_MS);
      if (!force && fresh.length) return;
      const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
      const jwk = await exportJWK(publicKey);
      const kid = await calculateJwkThumbprint(jwk);
      const publicJwk = { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' };
      const encrypted = encrypt(wrapKey, await exportPKCS8(privateKey));
      for (const row of active) {
        await tx.update(signingKeys).set({ retiredAt: new Date(now) }).where(sql`${signingKeys.kid} = ${row.kid}`);
      }
      await tx.insert(signingKeys).values({ kid, alg: SIGNING_ALG, publicJwk, privateKeyEncrypted: encrypted, createdAt: new Date(now) });
      deps.logger.info({ kid }, active.length ? 'signing key rotated' : 'signing key created');
    });
    await reload();
  };

  await ensure(false);
  const timer = setInterval(() => {
    ensure(false).catch((err) => deps.logger.error({ err }, 'signing key reload failed'));
  }, RELOAD_MS);
  timer.unref();

  return {
    current() {
      const newest = keys.find((k) => !k.row.retiredAt) ?? keys[0];
      if (!newest) throw new Error('no signing key loaded');
      return { kid: newest.kid, key: newest.privateKey };
    },
    async publicKey(kid) {
      let found = keys.find((k) => k.kid === kid);
      // Another instance may have rotated: look once, but never let forged kids hammer the database.
      if (!found && deps.clock.now() - lastReload > 5_000) {
        await reload();
        found = keys.find((k) => k.kid === kid);
      }
      return found?.publicKey ?? null;
    },
    jwks: () => ({ keys: keys.map((k) => k.publicJwk) }),
    rotate: () => ensure(true),
    reload,
    stop: () => clearInterval(timer),
  };
}
