import type { Deps } from '../../deps.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { checkCaptchaIfRequired, clearLoginFailures, guardLoginAttempt } from '../abuse/service.js';
import { recordAudit } from '../audit/service.js';
import { withinRecipientLimits } from '../messaging/send.js';
import { InvalidCredentialsError } from '../password/errors.js';
import { checkPasswordPolicy, normalizePassword, PASSWORD_MAX_LENGTH } from '../password/policy.js';
import { assignRoles, findUserWithAccessByEmail } from '../roles/queries.js';
import type { AuthResult } from '../sessions/auth-payload.js';
import { openSession } from '../sessions/service.js';
import { completeSignIn } from '../sessions/sign-in.js';
import { sendPendingLoginCode } from '../mfa/challenge.js';
import { EmailTakenError } from '../users/errors.js';
import { insertUser } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';
import { normalizeEmail, optionalLanguage, optionalText } from '../users/validation.js';
import { prepareLink } from '../verification/links.js';
import { optionalPhone } from '../verification/phone.js';
import { prepareEmailVerification, resendEmailVerification } from '../verification/service.js';
import { AccountDisabledError } from '../../shared/errors.js';
import { EmailNotVerifiedError } from './errors.js';
import { assertHashingCapacity } from '../../shared/password-hasher.js';

export type RegisterInput = {
  email: string;
  password?: string | null;
  name?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  language?: string | null;
  phone?: string | null;
  captchaToken?: string | null;
};

/**
 * Creates an account with the `user` role. It is signed in at once, unless it has no password
 * yet (a random one is set and a link to choose one is mailed) or REQUIRE_EMAIL_VERIFICATION
 * holds (a verification link is mailed): then `auth` is null.
 */
export async function register(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'hasher' | 'keys' | 'messages' | 'random' | 'store'>,
  input: RegisterInput,
  meta: RequestMeta,
): Promise<{ user: UserRow; auth: AuthResult | null }> {
  assertHashingCapacity(deps.hasher);
  await checkCaptchaIfRequired(deps, 'register', input.captchaToken, meta);
  const email = normalizeEmail(input.email);
  const passwordless = !input.password;
  if (input.password) checkPasswordPolicy(input.password, { minLength: deps.config.passwordMinLength, email, appName: deps.config.appName });
  const profile = {
    name: optionalText(input.name, 'name', 200),
    firstName: optionalText(input.firstName, 'firstName', 100),
    lastName: optionalText(input.lastName, 'lastName', 100),
    language: optionalLanguage(input.language),
    phone: optionalPhone(input.phone),
  };
  // Hash before the insert: a taken email then costs what a new one costs. Without a password
  // the account gets a random one nobody knows, so it has a hash like any other.
  const passwordHash = await deps.hasher.hash(normalizePassword(input.password || deps.random.token(32)));
  const signIn = !passwordless && !deps.config.requireEmailVerification;
  const now = new Date(deps.clock.now());
  const { user, send } = await deps.db.transaction(async (tx) => {
    // Registering signs the account in when it can: that is its first login.
    const row = await insertUser(tx, { email, passwordHash, ...profile, createdAt: now, updatedAt: now, lastLoginAt: signIn ? now : null });
    if (!row) throw new EmailTakenError();
    await assignRoles(tx, row.id, ['user']);
    await recordAudit(deps, tx, { action: 'user.registered', userId: row.id, meta, metadata: { method: passwordless ? 'passwordless' : 'password' } });
    if (passwordless) return { user: row, send: await prepareLink(deps, tx, row, 'set_password') };
    if (!signIn) return { user: row, send: await prepareEmailVerification(deps, tx, row, meta) };
    return { user: row, send: null };
  });
  if (!send) return { user, auth: (await openSession(deps, user, { meta, amr: ['pwd'] })).auth };
  // The first mail to a new address always goes; it counts, so a resend within the minute does not void its link.
  await withinRecipientLimits(deps, email, meta);
  send();
  return { user, auth: null };
}

/**
 * Password sign-in. Unknown emails run one argon2 verification against a dummy hash, so they
 * take as long as wrong passwords (ASVS 5.0 V6.3.8); both answer INVALID_CREDENTIALS.
 * ACCOUNT_DISABLED only follows a correct password, so it reveals nothing to a guesser.
 */
export async function login(
  deps: Pick<Deps, 'captcha' | 'clock' | 'config' | 'db' | 'dummyPasswordHash' | 'hasher' | 'keys' | 'messages' | 'random' | 'store'>,
  input: { email: string; password: string; captchaToken?: string | null },
  meta: RequestMeta,
): Promise<AuthResult> {
  // Load shedding first: a refused attempt is not counted in the account's streak.
  assertHashingCapacity(deps.hasher);
  const email = input.email.trim().toLowerCase().slice(0, 320);
  // Before any hashing (after the per-IP limit, counted at the field: abuse/field-limits.ts): the
  // account's failure streak (known or not). The account's row is read alongside, in the same
  // round trip's time: a read, whose answer nobody sees unless the gate lets the attempt through.
  const [, found] = await Promise.all([
    guardLoginAttempt(deps, email, input.captchaToken, meta),
    email.length <= 254 ? findUserWithAccessByEmail(deps.db, email) : null,
  ]);
  const user = found?.user ?? null;
  const password = normalizePassword(input.password);
  const tooLong = [...password].length > PASSWORD_MAX_LENGTH;
  const verified = await deps.hasher.verify(user?.passwordHash ?? deps.dummyPasswordHash, tooLong ? '' : password);
  if (!user?.passwordHash || !verified || tooLong) {
    await recordAudit(deps, deps.db, {
      action: 'user.login_failed',
      outcome: 'FAILURE',
      userId: user?.id ?? null,
      actorId: null,
      meta,
      metadata: { email: email.slice(0, 254), reason: user ? 'wrong_password' : 'unknown_email' },
    });
    throw new InvalidCredentialsError();
  }
  // The right password ends the streak, even for a disabled account: it was not a guess. On a
  // sign-in the reset goes out with the session's write (one round trip to the store).
  const endStreak = () => clearLoginFailures(deps, email);
  if (user.disabled) {
    await endStreak();
    await recordAudit(deps, deps.db, { action: 'user.login_failed', outcome: 'FAILURE', userId: user.id, meta, metadata: { reason: 'disabled' } });
    throw new AccountDisabledError();
  }
  if (deps.config.requireEmailVerification && !user.emailVerified) {
    await endStreak();
    await recordAudit(deps, deps.db, { action: 'user.login_failed', outcome: 'FAILURE', userId: user.id, meta, metadata: { reason: 'email_not_verified' } });
    await resendEmailVerification(deps, user, meta);
    throw new EmailNotVerifiedError();
  }
  // Parameters changed since this hash was made: upgrade it while we hold the password.
  const passwordHash = deps.hasher.needsRehash(user.passwordHash) ? await deps.hasher.hash(password) : undefined;
  return completeSignIn(deps, user, {
    meta,
    methods: ['pwd'],
    firstFactor: 'password',
    access: found?.access,
    alongside: endStreak,
    passwordHash,
    onPendingLogin: sendPendingLoginCode,
  });
}
