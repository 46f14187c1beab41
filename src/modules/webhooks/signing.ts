import { Webhook } from 'standardwebhooks';
import { decrypt, encrypt } from '../../shared/crypto.js';
import type { Random } from '../../shared/random.js';

/** How long a rotated-out secret keeps signing beside the new one, so receivers can switch over. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/** A Standard Webhooks secret: `whsec_` and base64 of 32 random bytes (256 bits, for HMAC-SHA256). */
export function newSecret(random: Pick<Random, 'bytes'>): string {
  return `whsec_${random.bytes(32).toString('base64')}`;
}

export function sealSecret(key: Buffer, secret: string): string {
  return encrypt(key, secret);
}

export function openSecret(key: Buffer, sealed: string): string {
  return decrypt(key, sealed);
}

export type SignedHeaders = { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };

/**
 * The Standard Webhooks headers, signed by the standardwebhooks package with every secret given
 * (the current one, and the previous one during a rotation): `webhook-signature` lists one
 * `v1,<base64>` per secret, space-separated, and a receiver accepts any that matches its secret.
 */
export function signDelivery(secrets: readonly string[], id: string, at: Date, body: string): SignedHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(id, at, body)).join(' '),
  };
}
