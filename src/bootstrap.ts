import type { Deps } from './deps.js';
import { ensureBuiltinRoles } from './modules/roles/service.js';

/** Idempotent start-up work that every instance runs after migrations. */
export async function bootstrap(deps: Deps): Promise<void> {
  await ensureBuiltinRoles(deps);
}
