import type { DbOrTx } from '../../db/client.js';
import { countUsableIdentities } from '../oauth/queries.js';
import { findUserById } from './queries.js';

/**
 * How many ways the user has left to sign in: a usable password (an account created by a
 * provider has none: its hash is null until a reset sets one) and each identity of an enabled
 * provider. Every first factor adds its count here (passkeys too), so that removing one never
 * locks an account out. Call it inside the transaction of the removal, after it, with the user
 * row locked.
 */
export async function signInMethodsLeft(tx: DbOrTx, userId: string): Promise<number> {
  const user = await findUserById(tx, userId);
  if (!user) return 0;
  const password = user.passwordHash ? 1 : 0;
  return password + (await countUsableIdentities(tx, userId));
}
