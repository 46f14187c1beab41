import type { TestApp } from './app.js';

/**
 * Records the SQL each statement sends, at the driver under drizzle (postgres.js `unsafe`,
 * PGlite `query`), prepared statements included.
 */
export function recordStatements(app: Pick<TestApp, 'deps'>): { statements: string[]; stop(): void } {
  const client = (app.deps.db as unknown as { $client: Record<string, (...args: unknown[]) => unknown> }).$client;
  const method = app.deps.database.kind === 'postgres' ? 'unsafe' : 'query';
  const original = client[method]!;
  const statements: string[] = [];
  client[method] = function (this: unknown, ...args: unknown[]) {
    statements.push(String(args[0]));
    return original.apply(this, args);
  };
  return { statements, stop: () => void (client[method] = original) };
}
