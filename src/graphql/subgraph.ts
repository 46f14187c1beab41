import { printSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
// Every module's types, registered by the time this module runs.
import './schema.js';

/** Federation v2.6: the first with @authenticated and @requiresScopes is 2.5. */
const FEDERATION_LINK = 'https://specs.apollo.dev/federation/v2.6';

let subgraph: GraphQLSchema | undefined;

/**
 * The schema served with FEDERATION=true: the public one plus `_service { sdl }` and `_entities`
 * (Apollo Federation v2), with `@key` on User and the authorization directives of edge-scopes.ts.
 * Built on first use: without FEDERATION nothing of it is made, and `schema` stays as printed.
 */
export function subgraphSchema(): GraphQLSchema {
  subgraph ??= builder.toSubGraphSchema({ linkUrl: FEDERATION_LINK, federationDirectives: ['@key', '@authenticated', '@requiresScopes'] });
  return subgraph;
}

/** The subgraph SDL as `_service { sdl }` serves it (directives included), for schema.subgraph.graphql. */
export function printedSubgraphSchema(): string {
  return `${printSubgraphSchema(subgraphSchema())}\n`;
}
