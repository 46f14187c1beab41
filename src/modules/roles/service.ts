import type { Deps } from '../../deps.js';
import { BUILTIN_ROLES } from './caps.js';
import { upsertBuiltinRole } from './queries.js';

/** At start: the built-in roles exist, and `admin` holds every cap of this version's catalogue. */
export async function ensureBuiltinRoles(deps: Pick<Deps, 'db'>): Promise<void> {
  await deps.db.transaction(async (tx) => {
    for (const [name, role] of Object.entries(BUILTIN_ROLES)) await upsertBuiltinRole(tx, name, role.description, role.caps);
  });
}
