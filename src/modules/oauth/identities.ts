import type { DbOrTx } from '../../db/client.js';
import type { Deps } from '../../deps.js';
import { BadInputError, NotFoundError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { assignRoles } from '../roles/queries.js';
import { findUserByEmail, findUserById, insertUser, lockUserMfa } from '../users/queries.js';
import { signInMethodsLeft } from '../users/sign-in-methods.js';
import type { UserRow } from '../users/tables.js';
import { IdentityConflictError, OAuthFlowError } from './errors.js';
import type { ProviderProfile } from './profile.js';
import { deleteIdentity, findIdentity, insertIdentity, touchIdentity } from './queries.js';
import type { IdentityRow, OAuthProviderRow } from './tables.js';

type IdentityDeps = Pick<Deps, 'db' | 'clock' | 'random'>;

export type SignedInIdentity = { user: UserRow; identity: IdentityRow; created: boolean };

function normalizedEmail(profile: ProviderProfile): string | null {
  const email = profile.email?.trim().toLowerCase() ?? null;
  return email && email.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(email) ? email : null;
}

/**
 * The account a provider identity signs into (README "Linking policy"): by (provider, subject),
 * never by email. A new subject whose email has an account is linked to it only when the provider
 * has linkByEmail, the provider says email_verified, and the account's email is verified:
 * otherwise anyone who registers the victim's address at a lax provider, or who pre-registered
 * it here unverified, would take the account over (pre-account-takeover). A new subject with a
 * new email creates an account without a password. Audited in the same transaction.
 */
export async function resolveSignIn(deps: IdentityDeps, row: OAuthProviderRow, profile: ProviderProfile, meta: RequestMeta): Promise<SignedInIdentity> {
  const now = new Date(deps.clock.now());
  const email = normalizedEmail(profile);
  const seen = { email, emailVerified: profile.emailVerified, lastUsedAt: now };
  return deps.db.transaction(async (tx) => {
    const known = await findIdentity(tx, row.name, profile.subject);
    if (known) {
      const user = await findUserById(tx, known.userId);
      if (!user) throw new OAuthFlowError('INVALID_CREDENTIALS', 'identity_without_user');
      await touchIdentity(tx, known.id, seen);
      await recordAudit(deps, tx, { action: 'oauth.login', userId: user.id, meta, metadata: { provider: row.name, identityId: known.id } });
      return { user, identity: { ...known, ...seen }, created: false };
    }
    if (!email) throw new OAuthFlowError('BAD_USER_INPUT', 'no_email', 'The provider did not give an email address');
    const local = await findUserByEmail(tx, email);
    if (local && !(row.linkByEmail && profile.emailVerified && local.emailVerified)) throw new IdentityConflictError();
    const user = local ?? (await createAccount(deps, tx, row, profile, email, meta));
    const identity = await insertIdentity(tx, { userId: user.id, provider: row.name, subject: profile.subject, createdAt: now, ...seen });
    if (!identity) throw new IdentityConflictError();
    await recordAudit(deps, tx, {
      action: 'oauth.linked',
      userId: user.id,
      meta,
      metadata: { provider: row.name, identityId: identity.id, by: local ? 'email' : 'new_account' },
    });
    await recordAudit(deps, tx, { action: 'oauth.login', userId: user.id, meta, metadata: { provider: row.name, identityId: identity.id } });
    return { user, identity, created: !local };
  });
}

/**
 * A provider-created account: no password (null hash, so password login answers
 * INVALID_CREDENTIALS and requestPasswordReset sets one), its email verified when the provider
 * verified it.
 */
async function createAccount(
  deps: IdentityDeps,
  tx: DbOrTx,
  row: OAuthProviderRow,
  profile: ProviderProfile,
  email: string,
  meta: RequestMeta,
): Promise<UserRow> {
  const now = new Date(deps.clock.now());
  const user = await insertUser(tx, { email, passwordHash: null, emailVerified: profile.emailVerified, name: profile.name, createdAt: now, updatedAt: now });
  // Taken since the lookup (a concurrent registration): the same answer as a taken address.
  if (!user) throw new IdentityConflictError();
  await assignRoles(tx, user.id, ['user']);
  await recordAudit(deps, tx, { action: 'user.registered', userId: user.id, meta, metadata: { method: 'oauth', provider: row.name } });
  return user;
}

/**
 * Links a provider identity to the signed-in caller who started the link. A subject linked to
 * another account is refused (IDENTITY_CONFLICT): one identity signs into one account.
 */
export async function linkToUser(deps: IdentityDeps, row: OAuthProviderRow, userId: string, profile: ProviderProfile, meta: RequestMeta): Promise<IdentityRow> {
  const now = new Date(deps.clock.now());
  const seen = { email: normalizedEmail(profile), emailVerified: profile.emailVerified, lastUsedAt: now };
  return deps.db.transaction(async (tx) => {
    const user = await findUserById(tx, userId);
    if (!user || user.disabled) throw new OAuthFlowError('INVALID_TOKEN', 'link_user_gone');
    const known = await findIdentity(tx, row.name, profile.subject);
    if (known && known.userId !== userId) throw new IdentityConflictError('This provider account is already linked to another account');
    if (known) {
      await touchIdentity(tx, known.id, seen);
      return { ...known, ...seen };
    }
    const identity = await insertIdentity(tx, { userId, provider: row.name, subject: profile.subject, createdAt: now, ...seen });
    if (!identity) throw new IdentityConflictError('This provider account is already linked to another account');
    await recordAudit(deps, tx, { action: 'oauth.linked', userId, meta, metadata: { provider: row.name, identityId: identity.id, by: 'link' } });
    return identity;
  });
}

/**
 * Removes one of the caller's identities, unless it is their last way to sign in
 * (BAD_USER_INPUT): the user row is locked so two concurrent unlinks cannot both pass the count.
 */
export async function unlinkIdentity(deps: IdentityDeps, userId: string, id: string, meta: RequestMeta): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    // Locks the user row for the rest of the transaction (not only for MFA changes).
    await lockUserMfa(tx, userId);
    const removed = /^[0-9a-f-]{36}$/i.test(id) ? await deleteIdentity(tx, userId, id) : null;
    if (!removed) throw new NotFoundError('Identity');
    if ((await signInMethodsLeft(tx, userId)) === 0) {
      throw new BadInputError('This is the last way to sign in to this account: set a password or link another provider first', 'id');
    }
    await recordAudit(deps, tx, { action: 'oauth.unlinked', userId, meta, metadata: { provider: removed.provider, identityId: removed.id } });
    return true;
  });
}
