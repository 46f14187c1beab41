import type { Deps } from '../../deps.js';
import { NotFoundError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { assertCanActOn } from '../roles/guards.js';
import { findUserById } from '../users/queries.js';
import { clearLoginFailures, clearMfaFailures } from './service.js';

/** An admin ends a user's lockouts, of the password and of the second factor (the other way out is a password reset). */
export async function unlockUser(deps: Pick<Deps, 'clock' | 'db' | 'random' | 'store'>, actorId: string, userId: string, meta: RequestMeta): Promise<boolean> {
  const user = /^[0-9a-f-]{36}$/i.test(userId) ? await findUserById(deps.db, userId) : null;
  if (!user) throw new NotFoundError('User');
  await assertCanActOn(deps.db, actorId, user.id);
  await clearLoginFailures(deps, user.email);
  await clearMfaFailures(deps, user.id);
  await recordAudit(deps, deps.db, { action: 'admin.user_updated', actorId, userId: user.id, meta, metadata: { unlocked: true } });
  return true;
}
