import type { Deps } from './deps.js';
import { bootstrapAdmin } from './modules/admin/bootstrap.js';
import { ensureBuiltinRoles } from './modules/roles/service.js';

/** Idempotent start-up work that every instance runs after migrations. */
export async function bootstrap(deps: Deps, options: { announce?: (message: string) => void } = {}): Promise<void> {
  checkReservedSettings(deps);
  await ensureBuiltinRoles(deps);
  await bootstrapAdmin(deps, options.announce ?? ((message) => console.error(message)));
}

/**
 * Settings validated now whose features ship in later releases. Ignoring one silently would
 * give a false sense of protection: a security setting stops the start, the others warn.
 */
function checkReservedSettings({ config, logger }: Pick<Deps, 'config' | 'logger'>): void {
  if (config.requireEmailVerification) {
    throw new Error('REQUIRE_EMAIL_VERIFICATION=true is not supported by this release (email verification is not built yet); unset it');
  }
  const reserved = {
    SMTP_URL: config.smtpUrl,
    SMS_WEBHOOK_URL: config.smsWebhookUrl,
  };
  for (const [name, value] of Object.entries(reserved)) {
    if (value) logger.warn({ setting: name }, `${name} is set but its feature is not in this release yet; it has no effect`);
  }
}
