import { createHmac } from 'node:crypto';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Deps } from '../../deps.js';
import { AccountDisabledError, BadInputError, DomainError, UnauthenticatedError } from '../../shared/errors.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { clearMfaFailures, enforceLimit } from '../abuse/service.js';
import { recordAudit } from '../audit/service.js';
import type { AuthResult } from '../sessions/auth-payload.js';
import { endPendingLogin, PENDING_TTL_MS, type PendingLogin, pendingTriesKey } from '../sessions/pending.js';
import { completeSignIn } from '../sessions/sign-in.js';
import { findUserByEmail, findUserById } from '../users/queries.js';
import { CODE_MAX_TRIES } from '../verification/codes.js';
import { type ChallengeBinding, CHALLENGE_TTL_MS, issueChallenge, takeChallenge } from './challenge.js';
import { PasskeyRejectedError } from './errors.js';
import { webauthn } from './webauthn.js';
import { claimAssertion, findPasskeyByCredentialId, listPasskeys } from './queries.js';
import { userHandle } from './service.js';

/** The caller as the context knows it: nobody, a full session, or a pending MFA login. */
type Caller = { userId: string; sessionId: string; pending: boolean; pendingLogin: PendingLogin | null } | null;

type LoginDeps = Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'keys' | 'mfaKeys' | 'random' | 'store'>;

/**
 * The decoy credential id of an email with no passkey (unknown, or an account without one): a
 * keyed hash of the email, so it is the same on every call and looks like a real id (32 random-
 * looking bytes); without SECRET_KEY nobody can tell it from one. No authenticator holds it, so
 * nothing can answer the challenge. Transports are left out for every email: they would differ.
 */
function decoyCredentialId(deps: Pick<Deps, 'mfaKeys'>, email: string): string {
  return createHmac('sha256', deps.mfaKeys.passkeyDecoy).update(email).digest('base64url');
}

/**
 * PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get, user verification
 * required. With the pending token: that login's passkeys, bound to it. With an email: that
 * account's passkeys, or a stable decoy (no enumeration of who has passkeys). Without either:
 * discoverable credentials (allowCredentials empty).
 */
export async function startPasskeyLogin(deps: LoginDeps, caller: Caller, input: { email?: string | null }) {
  let binding: ChallengeBinding;
  let allow: Array<{ id: string; transports?: string[] }> = [];
  if (caller?.pending) {
    if (!caller.pendingLogin) throw new UnauthenticatedError('The sign-in expired; start again');
    if (!caller.pendingLogin.methods.includes('PASSKEY')) throw new BadInputError('PASSKEY cannot complete this sign-in', 'method');
    allow = (await listPasskeys(deps.db, caller.userId)).map((p) => ({ id: p.credentialId, transports: p.transports }));
    binding = { purpose: 'login', userId: caller.userId, anyUser: false, pendingId: caller.sessionId };
  } else if (input.email) {
    const email = input.email.trim().toLowerCase().slice(0, 320);
    const user = email.length <= 254 ? await findUserByEmail(deps.db, email) : null;
    const own = user ? await listPasskeys(deps.db, user.id) : [];
    allow = own.length ? own.map((p) => ({ id: p.credentialId })) : [{ id: decoyCredentialId(deps, email) }];
    binding = { purpose: 'login', userId: own.length && user ? user.id : null, anyUser: false, pendingId: null };
  } else {
    binding = { purpose: 'login', userId: null, anyUser: true, pendingId: null };
  }
  const challenge = await issueChallenge(deps, binding);
  const { generateAuthenticationOptions } = await webauthn();
  return generateAuthenticationOptions({
    rpID: deps.config.webauthn.rpId,
    allowCredentials: allow,
    challenge,
    timeout: CHALLENGE_TTL_MS,
    userVerification: 'required',
  });
}

async function auditFailure(deps: Pick<Deps, 'clock' | 'db' | 'random'>, meta: RequestMeta, userId: string | null, metadata: Record<string, unknown>) {
  await recordAudit(deps, deps.db, { action: 'passkey.login_failed', outcome: 'FAILURE', userId, actorId: null, meta, metadata });
}

/** A refusal after the challenge was taken: audited with its reason, answered INVALID_CODE (or `error`). */
class Refusal extends Error {
  constructor(
    readonly reason: string,
    readonly userId: string | null,
    readonly error: DomainError = new PasskeyRejectedError(),
    readonly extra: Record<string, unknown> = {},
  ) {
    super(reason);
  }
}

/**
 * Verifies an AuthenticationResponseJSON: its challenge (taken once; bound to the pending
 * login or the email's account it was issued for), a registered credential of the right
 * account, origin, RP ID, signature, user verification, and a signature counter that grew.
 * Then either a full sign-in that counts as multi-factor, or the second factor of a pending login.
 */
export async function finishPasskeyLogin(deps: LoginDeps, caller: Caller, response: unknown, meta: RequestMeta): Promise<AuthResult> {
  try {
    return await verifyAndSignIn(deps, caller, response, meta);
  } catch (error) {
    if (error instanceof Refusal) {
      await auditFailure(deps, meta, error.userId, { reason: error.reason, ...error.extra });
      throw error.error;
    }
    if (error instanceof DomainError && error.code === 'INVALID_TOKEN')
      await auditFailure(deps, meta, caller?.pending ? caller.userId : null, { reason: 'challenge' });
    throw error;
  }
}

async function verifyAndSignIn(deps: LoginDeps, caller: Caller, response: unknown, meta: RequestMeta): Promise<AuthResult> {
  const { challenge, binding } = await takeChallenge(deps, response, 'login');
  const pending = caller?.pending ? caller.pendingLogin : null;
  if (caller?.pending && !pending) throw new UnauthenticatedError('The sign-in expired; start again');
  if (binding.pendingId !== (pending ? caller!.sessionId : null)) throw new Refusal('challenge_binding', binding.userId ?? caller?.userId ?? null);
  if (pending) await countPendingTry(deps, caller!.userId, caller!.sessionId, meta);
  const credentialId = (response as { id?: unknown }).id;
  const passkey = typeof credentialId === 'string' && credentialId.length <= 1024 ? await findPasskeyByCredentialId(deps.db, credentialId) : null;
  if (!passkey) throw new Refusal('unknown_credential', binding.userId);
  if (!binding.anyUser && passkey.userId !== binding.userId) throw new Refusal('wrong_account', binding.userId);
  // WebAuthn L3 §7.2 step 6: a user handle, when given, must be the credential's owner.
  const handle = (response as { response?: { userHandle?: unknown } }).response?.userHandle;
  if (handle != null && handle !== Buffer.from(userHandle(passkey.userId)).toString('base64url')) throw new Refusal('user_handle', passkey.userId);
  const { origins, rpId } = deps.config.webauthn;
  const { verifyAuthenticationResponse } = await webauthn();
  const verification = await verifyAuthenticationResponse({
    response: response as AuthenticationResponseJSON,
    expectedChallenge: challenge,
    expectedOrigin: [...origins],
    expectedRPID: rpId,
    // Counter 0: the library's own counter check is skipped; claimAssertion below checks it atomically.
    credential: {
      id: passkey.credentialId,
      publicKey: Uint8Array.from(Buffer.from(passkey.publicKey, 'base64url')),
      counter: 0,
      transports: passkey.transports,
    },
    requireUserVerification: true,
  }).catch(() => null);
  if (!verification?.verified) throw new Refusal('verification_failed', passkey.userId);
  const info = verification.authenticationInfo;
  const user = await findUserById(deps.db, passkey.userId);
  if (!user) throw new Refusal('unknown_credential', null);
  // Only after a verified assertion, as after a correct password: it tells a guesser nothing.
  if (user.disabled) throw new Refusal('disabled', user.id, new AccountDisabledError());
  if (pending && !pending.methods.includes('PASSKEY')) throw new Refusal('method_not_allowed', user.id);
  const claimed = await deps.db.transaction(async (tx) => {
    const row = await claimAssertion(tx, { id: passkey.id, counter: info.newCounter, backedUp: info.credentialBackedUp, now: new Date(deps.clock.now()) });
    if (row) await recordAudit(deps, tx, { action: 'passkey.login', userId: user.id, meta, metadata: { keyId: passkey.id, secondFactor: !!pending } });
    return row;
  });
  // A counter that did not grow: the credential may have been cloned (WebAuthn L3 §6.1.1).
  if (!claimed)
    throw new Refusal('counter_regression', user.id, new PasskeyRejectedError(), { keyId: passkey.id, counter: info.newCounter, stored: passkey.counter });
  // RFC 8176: hwk for a device-bound key, swk for one that can be synced off the device (backup eligible).
  const kind = info.credentialDeviceType === 'multiDevice' ? 'swk' : 'hwk';
  if (!pending) return completeSignIn(deps, user, { meta, methods: [kind, 'mfa'], firstFactor: 'passkey', multiFactor: true });
  await clearMfaFailures(deps, user.id);
  // Exactly one of concurrent finishes ends the pending login and gets a session.
  if (!(await endPendingLogin(deps, caller!.sessionId))) throw new UnauthenticatedError('The sign-in expired; start again');
  const amr = [...new Set([...pending.amr, kind, 'mfa'])];
  return completeSignIn(deps, user, { meta, methods: amr, firstFactor: pending.method, mfa: 'PASSKEY' });
}

/**
 * As verify2fa: at most CODE_MAX_TRIES answers are evaluated per pending login (counted with its
 * codes, before anything is checked; one past them voids it), within the account's limit.
 */
async function countPendingTry(deps: LoginDeps, userId: string, pendingId: string, meta: RequestMeta): Promise<void> {
  await enforceLimit(deps, 'mfa.account', userId, meta);
  const { count } = await deps.store.counters.increment(pendingTriesKey(pendingId), PENDING_TTL_MS);
  if (count <= CODE_MAX_TRIES) return;
  await endPendingLogin(deps, pendingId);
  throw new Refusal('too_many_tries', userId);
}
