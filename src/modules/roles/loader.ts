import DataLoader from 'dataloader';
import type { DbOrTx } from '../../db/client.js';
import { getUsersAccess, type Access } from './queries.js';

/** A request's context, or anything else that lives exactly as long as one operation. */
type Scope = { deps: { db: DbOrTx } };

const loaders = new WeakMap<Scope, DataLoader<string, Access>>();

/**
 * Per-operation batching of users' roles and caps: every load of one tick becomes one query.
 * Not a cache (`cache: false`): within one operation a mutation may change roles, and callers
 * memoize per user row where an answer may be reused. Keyed on the context object, so the
 * loader lives and dies with its operation.
 */
export function accessLoader(scope: Scope): DataLoader<string, Access> {
  let loader = loaders.get(scope);
  if (!loader) {
    loader = new DataLoader((ids) => getUsersAccess(scope.deps.db, ids), { cache: false, maxBatchSize: 500 });
    loaders.set(scope, loader);
  }
  return loader;
}
