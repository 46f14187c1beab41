import type { Deps } from './deps.js';
import { bootstrapAdmin } from './modules/admin/bootstrap.js';
import { ensureBuiltinRoles } from './modules/roles/service.js';

/** Idempotent start-up work that every instance runs after migrations. */
export async function bootstrap(
  deps: Pick<Deps, 'clock' | 'config' | 'db' | 'hasher' | 'logger' | 'random' | 'store'>,
  options: { announce?: (message: string) => void } = {},
): Promise<void> {
  await ensureBuiltinRoles(deps);
  await bootstrapAdmin(deps, options.announce ?? ((message) => console.error(message)));
}
