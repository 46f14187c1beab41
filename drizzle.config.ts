import { defineConfig } from 'drizzle-kit';

// Only `npm run db:generate` reads this: migrations are generated from the tables and committed.
// They are applied at start (and by `npm run db:migrate`) on Postgres and PGlite alike.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './src/db/migrations',
});
