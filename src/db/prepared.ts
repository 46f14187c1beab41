import { PgTransaction } from 'drizzle-orm/pg-core';
import type { TypedQueryBuilder } from 'drizzle-orm/query-builders/query-builder';
import type { DbOrTx } from './client.js';

type Preparable<R> = { prepare(name: string): { execute(values?: Record<string, unknown>): Promise<R> } };

/**
 * A query on a hot path (every authenticated request, every login), built and prepared once
 * per database handle instead of per call: drizzle's query building cost as much as the
 * round trip. Keyed by the handle, so two apps never share one; inside a transaction the
 * query is built for that transaction. Parameters are `sql.placeholder(name)`s.
 */
export function preparedQuery<R>(name: string, build: (db: DbOrTx) => Preparable<R>) {
  const cache = new WeakMap<object, ReturnType<Preparable<R>['prepare']>>();
  return (db: DbOrTx, values: Record<string, unknown>): Promise<R> => {
    if (db instanceof PgTransaction) return build(db).prepare(name).execute(values);
    let query = cache.get(db);
    if (!query) cache.set(db, (query = build(db).prepare(name)));
    return query.execute(values);
  };
}

/**
 * A write to run in another statement (as a data-modifying WITH, users/queries.ts
 * updateUserWith): a statement of placeholders, the same for the same `shape`, so it is built
 * and prepared once per shape, and the values of its placeholders.
 */
export type AlongsideInsert = {
  shape: string;
  build: (db: DbOrTx) => TypedQueryBuilder<undefined>;
  values: Record<string, unknown>;
};
