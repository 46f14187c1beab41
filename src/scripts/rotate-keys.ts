import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { closeDeps, createDeps } from '../deps.js';

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
    console.log(`signing key ${revoked} revoked; current kid ${deps.keys.current().kid}`);
  } else {
    await deps.keys.rotate();
    console.log(`signing key rotated; current kid ${deps.keys.current().kid}`);
  }
} finally {
  await closeDeps(deps);
}
