import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Deps } from '../../deps.js';
import { BadInputError, NotFoundError, UnauthenticatedError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { syncUserMfa } from '../mfa/queries.js';
import { findUserById, lockUserMfa } from '../users/queries.js';
import { signInMethodsLeft } from '../users/sign-in-methods.js';
import type { UserRow } from '../users/tables.js';
import { optionalText } from '../users/validation.js';
import { CHALLENGE_TTL_MS, issueChallenge, takeChallenge } from './challenge.js';
import { PasskeyRejectedError } from './errors.js';
import { webauthn } from './webauthn.js';
import { deletePasskeyRow, insertPasskey, listPasskeys } from './queries.js';
import type { PasskeyRow } from './tables.js';

/** Enough for every device a person owns; a bound keeps excludeCredentials and the table small. */
export const MAX_PASSKEYS_PER_USER = 20;

/** The WebAuthn user handle: the account's UUID as its 16 bytes (opaque, no personal data: WebAuthn L3 §14.6.1). */
export function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

type Caller = { userId: string; sessionId: string };

async function currentUser(deps: Pick<Deps, 'db'>, userId: string): Promise<UserRow> {
  const user = await findUserById(deps.db, userId);
  if (!user) throw new UnauthenticatedError();
  return user;
}

export async function getPasskeys(deps: Pick<Deps, 'db'>, userId: string): Promise<PasskeyRow[]> {
  return listPasskeys(deps.db, userId);
}

/**
 * PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create. The challenge is
 * bound to the caller's session; excludeCredentials lists the caller's passkeys (an
 * authenticator holding one refuses to make a second). Attestation `none`: we keep no
 * authenticator allow-list, so an attestation would only be personal data (WebAuthn L3 §14.4.1).
 */
export async function startPasskeyRegistration(deps: Pick<Deps, 'clock' | 'config' | 'db' | 'random' | 'store'>, caller: Caller) {
  const user = await currentUser(deps, caller.userId);
  const existing = await listPasskeys(deps.db, user.id);
  if (existing.length >= MAX_PASSKEYS_PER_USER) throw new BadInputError(`At most ${MAX_PASSKEYS_PER_USER} passkeys per account: delete one first`);
  const challenge = await issueChallenge(deps, { purpose: 'register', userId: user.id, sessionId: caller.sessionId });
  const { rpId, rpName } = deps.config.webauthn;
  const { generateRegistrationOptions } = await webauthn();
  return generateRegistrationOptions({
    rpName,
    rpID: rpId,
    userName: user.email,
    userID: userHandle(user.id),
    userDisplayName: user.name ?? user.email,
    challenge,
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
}

/**
 * Verifies the RegistrationResponseJSON against the caller's challenge (taken once, whatever
 * the outcome), the expected origins and the RP ID, and stores the passkey. The first passkey
 * also turns MFA on for password sign-in (PASSKEY in mfaMethods): mfa.enabled beside passkey.registered.
 */
export async function finishPasskeyRegistration(
  deps: Pick<Deps, 'clock' | 'config' | 'db' | 'random' | 'store'>,
  caller: Caller,
  input: { response: unknown; name?: string | null },
  meta: RequestMeta,
): Promise<PasskeyRow> {
  const name = optionalText(input.name, 'name', 100) ?? null;
  const { challenge, binding } = await takeChallenge(deps, input.response, 'register');
  if (binding.userId !== caller.userId || binding.sessionId !== caller.sessionId) throw new PasskeyRejectedError();
  const { origins, rpId } = deps.config.webauthn;
  const { verifyRegistrationResponse } = await webauthn();
  const verification = await verifyRegistrationResponse({
    response: input.response as RegistrationResponseJSON,
    expectedChallenge: challenge,
    expectedOrigin: [...origins],
    expectedRPID: rpId,
    requireUserVerification: false,
  }).catch(() => null);
  if (!verification?.verified) throw new PasskeyRejectedError();
  const info = verification.registrationInfo;
  const now = new Date(deps.clock.now());
  return deps.db.transaction(async (tx) => {
    const locked = await lockUserMfa(tx, caller.userId);
    if (!locked) throw new UnauthenticatedError();
    const row = await insertPasskey(tx, {
      userId: caller.userId,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: (info.credential.transports ?? []).slice(0, 8),
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      name,
      createdAt: now,
    });
    if (!row) throw new BadInputError('This passkey is registered already', 'response');
    await syncUserMfa(tx, caller.userId, locked.defaultMfaMethod);
    const metadata = { keyId: row.id, deviceType: row.deviceType, backedUp: row.backedUp, aaguid: info.aaguid };
    await recordAudit(deps, tx, { action: 'passkey.registered', userId: caller.userId, meta, metadata });
    if (!locked.mfaMethods.includes('PASSKEY')) {
      await recordAudit(deps, tx, {
        action: 'mfa.enabled',
        userId: caller.userId,
        meta,
        metadata: { method: 'PASSKEY', first: locked.mfaMethods.length === 0 },
      });
    }
    return row;
  });
}

/** Removes one of the caller's passkeys; the last one takes PASSKEY out of mfaMethods (mfa.disabled). */
export async function deletePasskey(deps: Pick<Deps, 'clock' | 'db' | 'random'>, userId: string, id: string, meta: RequestMeta): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError('Passkey');
  return deps.db.transaction(async (tx) => {
    const locked = await lockUserMfa(tx, userId);
    if (!locked) throw new UnauthenticatedError();
    const row = await deletePasskeyRow(tx, userId, id);
    if (!row) throw new NotFoundError('Passkey');
    // An account a provider created has no password: its last passkey may be its last way in.
    if ((await signInMethodsLeft(tx, userId)) === 0) {
      throw new BadInputError('This is the last way to sign in to this account: set a password or add another passkey first', 'id');
    }
    const user = await syncUserMfa(tx, userId, locked.defaultMfaMethod);
    await recordAudit(deps, tx, { action: 'passkey.deleted', userId, meta, metadata: { keyId: row.id } });
    if (!user.mfaMethods.includes('PASSKEY')) {
      await recordAudit(deps, tx, { action: 'mfa.disabled', userId, meta, metadata: { method: 'PASSKEY', mfaOff: user.mfaMethods.length === 0 } });
    }
    return true;
  });
}
