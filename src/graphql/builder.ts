import SchemaBuilder from '@pothos/core';
import DirectivePlugin from '@pothos/plugin-directives';
import FederationPlugin from '@pothos/plugin-federation';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import type { Context } from '../context.js';
import './edge-scopes.js';
import type { TokenRefusal } from '../modules/tokens/service.js';
import type { ErrorCode } from '../shared/errors.js';

export type Scalars = {
  DateTime: { Input: Date; Output: Date };
  JSON: { Input: unknown; Output: unknown };
};

/**
 * The schema builder: plugins and scopes only; types live in the modules.
 * Scopes (README "Roles, capabilities and the admin API"): `public`, `authenticated` (a full token with a live session),
 * `mfaPending` (a pending MFA token), `cap(name)`, `role(name)` and `self(userId)`.
 */
export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: Scalars;
  DefaultFieldNullability: false;
  AuthScopes: {
    public: boolean;
    authenticated: boolean;
    mfaPending: boolean;
    cap: string;
    role: string;
    self: string;
  };
}>({
  // The federation ones only mark types and fields; they change the schema only in toSubGraphSchema (FEDERATION, graphql/subgraph.ts).
  plugins: [ScopeAuthPlugin, DirectivePlugin, FederationPlugin, 'edgeScopes'],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => {
      const full = !!ctx.auth && !ctx.auth.pending;
      return {
        public: true,
        authenticated: full,
        mfaPending: !!ctx.auth?.pending,
        cap: async (cap) => full && (await ctx.access()).caps.includes(cap),
        role: async (role) => full && (await ctx.access()).roles.includes(role),
        self: (userId) => full && ctx.auth?.userId === userId,
      };
    },
    // Tier 2 of the error model: authorization failures carry a code, which the default lacks.
    unauthorizedError: (_parent, ctx) => unauthorizedError(ctx),
  },
});

/** The error of a refused authorization check: scope-auth's, and the subgraph's `_entities` (users/federation.ts). */
export function unauthorizedError(ctx: Context): GraphQLError {
  if (!ctx.auth && ctx.tokenRefusal) return tokenRefusalError(ctx.tokenRefusal.reason);
  const [code, message]: [ErrorCode, string] = !ctx.auth
    ? ['UNAUTHENTICATED', ctx.authRefusal ?? 'Authentication required']
    : ctx.auth.pending
      ? ['MFA_REQUIRED', 'Complete the second factor first']
      : ['FORBIDDEN', 'Not allowed'];
  return new GraphQLError(message, { extensions: { code } });
}

/**
 * UNAUTHENTICATED for a presented token that was refused, told apart from a missing one so a
 * client knows to refresh (`token_expired`) or to sign in again (`invalid_token`).
 */
function tokenRefusalError(reason: TokenRefusal): GraphQLError {
  const message = reason === 'token_expired' ? 'The access token has expired' : 'The access token is invalid or has been revoked';
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' satisfies ErrorCode, reason } });
}
