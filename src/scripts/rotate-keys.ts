import { loadConfig } from '../config.js';
import { closeDeps, createDeps } from '../deps.js';

/**
 * Replaces the signing key now. Running instances pick the new key up within a minute (or
 * at once on seeing its kid); the old key stays in the JWKS until its last token expires.
 */
const deps = await createDeps(loadConfig());
try {
  await deps.keys.rotate();
  console.log(`signing key rotated; current kid ${deps.keys.current().kid}`);
} finally {
  await closeDeps(deps);
}
