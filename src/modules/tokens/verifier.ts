import { LRUCache } from 'lru-cache';
import type { Config } from '../../config.js';
import type { Clock } from '../../shared/clock.js';
import type { KeyRing } from './keys.js';
import { verifyAccessToken, type VerifiedToken, type VerifyResult } from './service.js';

export type AccessTokenVerifier = { verify(token: string): Promise<VerifyResult> };

/**
 * Signature checks dominate the cost of an authenticated request, and a client sends the
 * same token until it expires. A token string that verified once verifies the same way until
 * its `exp` (plus the leeway) while its key is trusted, so the result is kept, bounded, until
 * then. A hit is dropped as soon as its key leaves the key ring (`keys:rotate --revoke`). Only
 * the signature work is skipped: the session is still looked up on every request, so logout
 * and revocation still act at once.
 */
export function createAccessTokenVerifier(deps: { config: Config; clock: Clock; keys: KeyRing }, maxEntries = 10_000): AccessTokenVerifier {
  // Bounded, least recently used out first: the tokens of active clients stay cached.
  const cache = new LRUCache<string, VerifiedToken>({ max: maxEntries });
  return {
    async verify(token) {
      const hit = cache.get(token);
      if (hit && hit.expiresAt + deps.config.accessTokenLeewayMs > deps.clock.now() && deps.keys.trusts(hit.kid)) return { token: hit };
      if (hit) cache.delete(token);
      const result = await verifyAccessToken(deps, token);
      if ('token' in result) {
        cache.set(token, result.token);
      }
      return result;
    },
  };
}
