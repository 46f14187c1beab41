/** A database handle (client.ts's Db); typed loosely here so that client.ts can import this file. */
type Transactional = { transaction: (...args: never[]) => Promise<unknown> };
/** Gets the database handle (not the transaction) the write went through. */
type Hook = (root: object) => Promise<void>;

/** The hooks registered in each open transaction (the transaction object is the key). */
const open = new WeakMap<object, { hooks: Hook[] }>();
const wrapped = new WeakSet<object>();

/**
 * Makes `db.transaction` run what afterCommit registered once the transaction has committed,
 * before it resolves: a mutation answers only after the caches its writes void are void
 * everywhere. A rolled-back transaction runs none of them. Done once per database handle.
 */
export function withAfterCommit<T extends Transactional>(db: T): T {
  if (wrapped.has(db)) return db;
  wrapped.add(db);
  const transaction = db.transaction.bind(db);
  db.transaction = (async (run: (tx: object) => Promise<unknown>, config?: unknown) => {
    const hooks: Hook[] = [];
    const result = await (transaction as (r: typeof run, c?: unknown) => Promise<unknown>)((tx) => {
      open.set(tx, { hooks });
      return run(tx);
    }, config);
    for (const hook of hooks) await hook(db);
    return result;
  }) as unknown as T['transaction'];
  return db;
}

/**
 * Runs `hook` after the transaction `db` belongs to commits, or at once (awaited) when `db` is
 * the database itself (a single statement commits on its own). A transaction of a database
 * withAfterCommit did not wrap is refused: its hook would otherwise run before the commit.
 */
export async function afterCommit(db: object, hook: Hook): Promise<void> {
  const tx = open.get(db);
  if (tx) {
    tx.hooks.push(hook);
    return;
  }
  if (!wrapped.has(db)) throw new Error('afterCommit: not a database wrapped by withAfterCommit, nor one of its transactions');
  await hook(db);
}
