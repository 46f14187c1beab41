// Creates a PGlite data directory and exits: run as a child process on the first embedded
// start (db/client.ts), so the memory initdb takes (about 700 MB with PGlite 0.5, never given
// back) goes away with this process instead of staying with the server for its lifetime.
import { PGlite } from '@electric-sql/pglite';

const location = process.argv[2];
if (!location) throw new Error('usage: pglite-initdb.mjs <data directory>');
const client = new PGlite(location);
await client.waitReady;
await client.close();
