import type { Deps } from '../../deps.js';
import type { RequestMeta } from '../../shared/request-meta.js';
import { recordAudit } from '../audit/service.js';
import { WeakPasswordError } from '../password/errors.js';
import { checkPasswordPolicy, normalizePassword } from '../password/policy.js';
import { accessChanged } from '../roles/access-cache.js';
import { assignRoles, countEnabledHolders, getUserAccess } from '../roles/queries.js';
import { findUserByEmail, insertUser } from '../users/queries.js';
import type { UserRow } from '../users/tables.js';

const SYSTEM: RequestMeta = { requestId: 'bootstrap', ip: null, userAgent: null };

/**
 * ADMIN_EMAIL (and ADMIN_PASSWORD) create or promote the admin at every start, idempotently.
 * An existing account is promoted only when its email is verified, and it keeps its own password
 * (ADMIN_PASSWORD is not applied; the log says so). An existing account whose email is not
 * verified stops the start and is never promoted: anyone can register an address before it is
 * set as ADMIN_EMAIL, and promoting such a squatter would hand it the server (ASVS 5.0 V6.4,
 * a privileged account is bound to a proven address). With neither set, the embedded default
 * (never production) creates one admin with a random password, shown once through `announce`
 * (the console, not the structured log: logs never hold a secret).
 */
export async function bootstrapAdmin(
  deps: Pick<Deps, 'clock' | 'config' | 'db' | 'hasher' | 'logger' | 'random' | 'store'>,
  announce: (message: string) => void,
): Promise<void> {
  const { adminEmail, adminPassword, databaseUrl, isProduction } = deps.config;
  if (adminEmail) {
    if (adminPassword) {
      try {
        checkPasswordPolicy(adminPassword, { minLength: deps.config.passwordMinLength, email: adminEmail, appName: deps.config.appName });
      } catch (error) {
        if (error instanceof WeakPasswordError) throw new Error(`ADMIN_PASSWORD is refused by the password policy: ${error.message}`);
        throw error;
      }
    }
    await ensureAdmin(deps, adminEmail, adminPassword ?? null);
    return;
  }
  if (databaseUrl || isProduction || (await countEnabledHolders(deps.db, 'admin')) > 0) return;
  const password = deps.random.token(18);
  const email = (await findUserByEmail(deps.db, 'admin@example.com')) ? `admin+${deps.random.token(4).toLowerCase()}@example.com` : 'admin@example.com';
  await ensureAdmin(deps, email, password);
  announce(`\nAdmin account created for the embedded default (shown once, change it):\n  email:    ${email}\n  password: ${password}\n`);
}

async function ensureAdmin(deps: Pick<Deps, 'clock' | 'db' | 'hasher' | 'logger' | 'random' | 'store'>, email: string, password: string | null): Promise<void> {
  const passwordHash = password ? await deps.hasher.hash(normalizePassword(password)) : null;
  const now = new Date(deps.clock.now());
  const { user, promoted } = await deps.db.transaction(async (tx) => {
    const created = await insertUser(tx, { email, passwordHash, emailVerified: true, createdAt: now, updatedAt: now });
    const user = created ?? (await findUserByEmail(tx, email))!;
    const wasAdmin = !created && (await getUserAccess(tx, user.id)).roles.includes('admin');
    if (!created && !wasAdmin) assertPromotable(user);
    await assignRoles(tx, user.id, ['user', 'admin']);
    if (created) {
      await recordAudit(deps, tx, {
        action: 'admin.user_created',
        actorId: null,
        userId: user.id,
        meta: SYSTEM,
        metadata: { roles: ['user', 'admin'], bootstrap: true, withPassword: !!passwordHash },
      });
    } else if (!wasAdmin) {
      await recordAudit(deps, tx, {
        action: 'admin.user_updated',
        actorId: null,
        userId: user.id,
        meta: SYSTEM,
        metadata: { fields: ['roles'], roles: ['admin'], bootstrap: true },
      });
    }
    return { user, promoted: !created && !wasAdmin };
  });
  if (promoted) {
    // Instances already running see the new admin's caps from their next request on.
    await accessChanged(deps);
    const note = password ? 'ADMIN_PASSWORD is not applied: the account keeps its own password' : 'the account keeps its own password';
    deps.logger.warn({ email, userId: user.id }, `ADMIN_EMAIL names an existing account with a verified email: promoted to admin; ${note}`);
  }
  if (!user.passwordHash) deps.logger.warn({ email }, 'ADMIN_EMAIL has no password: the admin signs in after a password reset');
}

/** An existing account becomes the admin only with a verified email (see bootstrapAdmin). */
function assertPromotable(user: UserRow): void {
  if (user.emailVerified) return;
  throw new Error(
    `ADMIN_EMAIL ${user.email} belongs to an existing account whose email is not verified, so it is not made an admin ` +
      '(whoever registered the address first would be). Verify that address from the account, delete the account, or set ADMIN_EMAIL to another address.',
  );
}
