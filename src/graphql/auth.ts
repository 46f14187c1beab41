import type { Context } from '../context.js';
import type { AuthState } from '../modules/sessions/authenticate.js';
import { UnauthenticatedError } from '../shared/errors.js';

/** The caller's auth state in a resolver whose scope already demanded it. */
export function requireAuth(ctx: Context): AuthState {
  if (!ctx.auth) throw new UnauthenticatedError();
  return ctx.auth;
}
