import type { DbOrTx } from '../../db/client.js';
import { countUsableIdentities } from '../oauth/queries.js';
import { countPasskeys } from '../passkeys/queries.js';
import { findUserById } from './queries.js';

/**
 * How many ways the user has left to sign in: a usable password (an account created by a
 * provider has none: its hash is null until a reset sets one), each identity of an enabled
 * provider and each passkey (a user-verified passkey is a whole sign-in). Every first factor
 * adds its count here, so that removing one never locks an account out. Call it inside the
 * transaction of the removal, after it, with the user row locked.
 */
export async function signInMethodsLeft(tx: DbOrTx, userId: string): Promise<number> {
  const user = await findUserById(tx, userId);
  if (!user) return 0;
  const password = user.passwordHash ? 1 : 0;
  return password + (await countUsableIdentities(tx, userId)) + (await countPasskeys(tx, userId));
}
