import type { Config } from '../../config.js';
import type { Clock } from '../../shared/clock.js';
import type { KeyRing } from './keys.js';
import { verifyAccessToken, type VerifiedToken } from './service.js';

export type AccessTokenVerifier = { verify(token: string): Promise<VerifiedToken | null> };

/**
 * Signature checks dominate the cost of an authenticated request, and a client sends the
 * same token until it expires. A token string that verified once verifies the same way until
 * its `exp` (keys leave the JWKS only after their last token expires), so the result is
 * kept, bounded, until then. Only the signature work is skipped: the session is still
 * looked up on every request, so logout and revocation still act at once.
 */
export function createAccessTokenVerifier(deps: { config: Config; clock: Clock; keys: KeyRing }, maxEntries = 10_000): AccessTokenVerifier {
  const cache = new Map<string, VerifiedToken>();
  return {
    async verify(token) {
      const hit = cache.get(token);
      if (hit && hit.expiresAt > deps.clock.now()) return hit;
      if (hit) cache.delete(token);
      const verified = await verifyAccessToken(deps, token);
      if (verified) {
        // Map keeps insertion order: dropping the first entry drops the oldest.
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
        cache.set(token, verified);
      }
      return verified;
    },
  };
}
