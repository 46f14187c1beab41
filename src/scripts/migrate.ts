import { loadConfig } from '../config.js';
import { createDatabase } from '../db/client.js';

/** Applies the committed migrations to DATABASE_URL (or the PGlite database under DATA_DIR). Start does this too. */
const config = loadConfig();
const database = await createDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
try {
  await database.migrate();
  console.log(`migrations applied (${database.kind})`);
} finally {
  await database.close();
}
