import { loadConfig } from '../config.js';
import { closeDeps, createDeps } from '../deps.js';
import { PUBLISH_AHEAD_MS } from '../modules/tokens/keys.js';

/**
 * Replaces the signing key now. Running instances pick the new key up within a minute (or
 * at once on seeing its kid); the old key stays in the JWKS until its last token expires.
 */
const deps = await createDeps(loadConfig());
try {
  const before = new Set(deps.keys.jwks().keys.map((k) => k.kid));
  const signing = deps.keys.current().kid;
  await deps.keys.rotate();
  const added = deps.keys.jwks().keys.find((k) => !before.has(k.kid))?.kid;
  // The new key is published now but signs only after PUBLISH_AHEAD_MS (verifiers' JWKS caches
  // must know it first): until then the old key is still the one that signs.
  const from = new Date(deps.clock.now() + PUBLISH_AHEAD_MS).toISOString();
  console.log(`signing key rotated: new kid ${added} (published now, signs from ${from}); kid ${signing} signs until then`);
} finally {
  await closeDeps(deps);
}
