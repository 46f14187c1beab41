import type { Deps } from '../../deps.js';
import { sha256 } from '../../shared/crypto.js';
import type { FactorMethod, MfaMethod } from '../../shared/mfa-methods.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { signAccessToken } from '../tokens/service.js';
import type { UserRow } from '../users/tables.js';
import { type AuthResult, buildAuthPayload } from './auth-payload.js';

/** How long a pending login (and its token) lives: 5 minutes (README "Multi-factor authentication"). */
export const PENDING_TTL_MS = 5 * 60_000;

/**
 * A login waiting for its second factor, under its own id (the pending token's `sid`): a pending
 * record among the user's sessions (user, first-factor amr, expiry), so a password reset or
 * change, or an admin's revocation, ends it like any session; and beside it what only a pending
 * login has, the first factor's name and the second factors it accepts.
 */
export type PendingLogin = {
  userId: string;
  amr: string[];
  /** The first factor's name for the audit (password, magic_link). */
  method: string;
  /** The second factors this login accepts. */
  methods: MfaMethod[];
};

/** A pending login just begun: its id and the second factor it offers first. */
export type StartedPendingLogin = { id: string; defaultMethod: MfaMethod };

type PendingDetails = Pick<PendingLogin, 'method' | 'methods'>;

const pendingKey = (id: string) => `mfa-pending:${id}`;
/** The counter of codes tried against one pending login. */
export const pendingTriesKey = (id: string) => `mfa-pending-tries:${id}`;
/** The SMS or email code sent for one pending login. */
export const pendingCodeKey = (id: string) => `mfa-code:${id}`;

/** The live pending login of a pending token, or null (expired, finished, voided or logged out). */
export async function findPendingLogin(deps: Pick<Deps, 'store' | 'clock'>, id: string): Promise<PendingLogin | null> {
  const now = deps.clock.now();
  const [session, raw] = await Promise.all([deps.store.sessions.get(id, now), deps.store.codes.get(pendingKey(id))]);
  if (!session?.pending || !raw) return null;
  return { userId: session.userId, amr: session.amr, ...(JSON.parse(raw) as PendingDetails) };
}

/** Ends a pending login; true for exactly one of concurrent callers (the session delete is atomic). */
export async function endPendingLogin(deps: Pick<Deps, 'store'>, id: string): Promise<boolean> {
  const session = await deps.store.sessions.delete(id);
  await deps.store.codes.delete(pendingKey(id));
  return !!session?.pending;
}

/**
 * The first factor was right and the account has MFA: instead of a session, a pending login
 * and its token (5 minutes, its own audience, no refresh token). A mailed first factor (magic
 * link) cannot be completed by a mailed code: both prove the same mailbox.
 */
export async function startPendingLogin(
  deps: Pick<Deps, 'store' | 'clock' | 'random' | 'config' | 'keys'>,
  user: UserRow,
  input: { meta: RequestMeta; amr: string[]; method: string },
): Promise<{ auth: AuthResult; pending: StartedPendingLogin }> {
  const factors = user.mfaMethods as FactorMethod[];
  const usable = input.amr.includes('email') ? factors.filter((m) => m !== 'EMAIL') : factors;
  const methods: MfaMethod[] = [...usable, 'RECOVERY_CODE'];
  const preferred = user.defaultMfaMethod as FactorMethod | null;
  const defaultMethod: MfaMethod = preferred && usable.includes(preferred) ? preferred : (usable[0] ?? 'RECOVERY_CODE');
  const id = deps.random.uuid();
  const now = deps.clock.now();
  const expiresAt = now + PENDING_TTL_MS;
  const details: PendingDetails = { method: input.method, methods };
  await deps.store.codes.set(pendingKey(id), JSON.stringify(details), PENDING_TTL_MS);
  await deps.store.sessions.create(
    {
      id,
      userId: user.id,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      ip: input.meta.ip,
      userAgent: input.meta.userAgent,
      amr: input.amr,
      mfaVerified: false,
      pending: true,
    },
    // A refresh token nobody holds: a pending login cannot be refreshed, only finished.
    { hash: sha256(deps.random.token(32)), expiresAt },
  );
  const access = await signAccessToken(
    deps,
    { sub: user.id, sid: id, amr: input.amr, email: user.email, emailVerified: user.emailVerified, roles: [], caps: [] },
    { pending: true, ttlMs: PENDING_TTL_MS },
  );
  return { auth: buildAuthPayload({ access, refresh: null, user, mfa: { methods, defaultMethod } }), pending: { id, defaultMethod } };
}
