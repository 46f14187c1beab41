import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { closeDeps, createDeps } from '../deps.js';
import { PUBLISH_AHEAD_MS } from '../modules/tokens/keys.js';

/**
 * `keys:rotate`: replaces the signing key. Running instances pick the new key up within a minute
 * (or at once on seeing its kid); the old key stays in the JWKS until its last token expires.
 *
 * `keys:rotate -- --revoke [kid]`: for a leaked key (the current signer unless a kid is given).
 * The key is deleted and a new key signs at once; every instance drops it on the pub/sub message
 * (or its next reload, within a minute), so its access tokens stop verifying and the JWKS stops
 * listing it. Sessions live on: clients refresh (refresh tokens are opaque, not signed).
 */
const { values, positionals } = parseArgs({ options: { revoke: { type: 'boolean', default: false } }, allowPositionals: true });
if (positionals.length > (values.revoke ? 1 : 0)) {
  console.error('usage: npm run keys:rotate [-- --revoke [kid]]');
  process.exit(2);
}
const deps = await createDeps(loadConfig());
try {
  if (values.revoke) {
    const revoked = await deps.keys.revoke(positionals[0]);
    console.log(`signing key ${revoked} revoked: a new key signs now (kid ${deps.keys.current().kid})`);
  } else {
    const before = new Set(deps.keys.jwks().keys.map((k) => k.kid));
    const signing = deps.keys.current().kid;
    await deps.keys.rotate();
    const added = deps.keys.jwks().keys.find((k) => !before.has(k.kid))?.kid;
    // The new key is published now but signs only after PUBLISH_AHEAD_MS (verifiers' JWKS caches
    // must know it first): until then the old key is still the one that signs.
    const from = new Date(deps.clock.now() + PUBLISH_AHEAD_MS).toISOString();
    console.log(`signing key rotated: new kid ${added} (published now, signs from ${from}); kid ${signing} signs until then`);
  }
} finally {
  await closeDeps(deps);
}
