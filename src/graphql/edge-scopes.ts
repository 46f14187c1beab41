import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';

/**
 * Derives the federation authorization directives of each field from its `authScopes`, so the
 * subgraph schema says what our own checks enforce and cannot drift from them: a field that needs
 * caps gets `@requiresScopes` with them (a router refuses it at the edge by the token's `scope`
 * claim); one that needs a full sign-in (`authenticated`, `self`, `role`, or scopes computed from
 * the arguments, as `user(id)`) gets `@authenticated`. Public fields and those a pending MFA token
 * may call get neither. Our checks still run on every request: the directives only let a router
 * refuse earlier (ASVS 5.0 V8.3.1: authorization enforced at the trusted service layer).
 * Listed after the federation plugin: Pothos runs field hooks last-listed first, and that plugin
 * turns these options into directives.
 */
export function edgeDirectives(authScopes: unknown): { requiresScopes?: string[][]; authenticated?: boolean } | null {
  if (authScopes === undefined) return null;
  if (typeof authScopes !== 'object' || authScopes === null) return { authenticated: true };
  const scopes = authScopes as Record<string, unknown>;
  if (scopes.public === true || scopes.mfaPending === true) return null;
  const entries = Object.entries(scopes).filter(([, value]) => value !== false && value !== undefined);
  // An object of scopes is satisfied by any one of them: an OR of single-cap sets.
  if (entries.length && entries.every(([name, value]) => name === 'cap' && typeof value === 'string')) {
    return { requiresScopes: entries.map(([, cap]) => [cap as string]) };
  }
  return { authenticated: true };
}

export class EdgeScopesPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    const options = fieldConfig.pothosOptions as { authScopes?: unknown; requiresScopes?: unknown; authenticated?: unknown };
    if (options.requiresScopes !== undefined || options.authenticated !== undefined) return fieldConfig;
    const edge = edgeDirectives(options.authScopes);
    // The options' type is a union per field kind; the two keys added exist on every kind.
    return edge ? ({ ...fieldConfig, pothosOptions: { ...fieldConfig.pothosOptions, ...edge } } as PothosOutputFieldConfig<Types>) : fieldConfig;
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      edgeScopes: EdgeScopesPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin('edgeScopes', EdgeScopesPlugin);
