import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AbuseConfig } from '../../config-abuse.js';

type ArmorConfig = NonNullable<Parameters<typeof EnvelopArmorPlugin>[0]>;

/**
 * Armor's validation rules throw by default, which skips the rest of validation and our
 * validation-error handling; reported instead, the error is one more validation error: HTTP 400
 * (200 for an `application/json` client, as the GraphQL-over-HTTP spec asks) with code
 * BAD_USER_INPUT. The "Syntax Error: " armor prefixes is dropped: these are not syntax errors.
 */
function reportRejection(context: ValidationContext | null, error: GraphQLError): void {
  context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'BAD_USER_INPUT' } }));
}

/**
 * Query depth, cost, alias, token and directive limits (graphql-armor; README
 * "Limits"), from config.abuse.graphqlLimits. In production the messages name the limit
 * that bit but never its number (no probing for the threshold), and field suggestions go.
 */
export function useArmor(options: { limits: AbuseConfig['graphqlLimits']; production: boolean }): Plugin {
  const { limits, production } = options;
  const common = { exposeLimits: !production, propagateOnRejection: false, onReject: [reportRejection] };
  const config: ArmorConfig = {
    // Introspection (GraphiQL's query nests `ofType` far past any real operation) is exempt from
    // depth and cost in development only. Production refuses introspection anyway
    // (useNoIntrospection), and were it ever turned on, it would meet the limits like any query.
    // Fragments are flattened so depth and cost measure the shape of the response, and a client
    // that spreads fragments (Relay, codegen) is not charged for the spreads themselves.
    maxDepth: { ...common, n: limits.maxDepth, ignoreIntrospection: !production, flattenFragments: true, errorMessage: 'Query is too deep.' },
    costLimit: { ...common, maxCost: limits.maxCost, ignoreIntrospection: !production, flattenFragments: true, errorMessage: 'Query is too costly.' },
    // Every alias counts, `__typename` too (armor exempts it by default): the allow-list also
    // matches an alias named `__typename`, so `__typename: login(...)` would be one free login.
    maxAliases: { ...common, n: limits.maxAliases, allowList: [], errorMessage: 'Too many aliases.' },
    maxDirectives: { ...common, n: limits.maxDirectives, errorMessage: 'Too many directives.' },
    // The token limit runs in the parser, before any validation context exists, so it throws:
    // yoga turns the parse error into HTTP 400 (200 for application/json), masked to BAD_USER_INPUT.
    maxTokens: { n: limits.maxTokens, exposeLimits: !production, errorMessage: 'Too many tokens.' },
    // useValidationErrors and maskError also strip "Did you mean ...?" in production, including the
    // forms armor's pattern misses ("Did you mean the enum value ...?", variable coercion errors).
    blockFieldSuggestion: { enabled: production, mask: '' },
  };
  return EnvelopArmorPlugin(config) as Plugin;
}
