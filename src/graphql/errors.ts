import { GraphQLError } from 'graphql';
import { DomainError, ERROR_CODES } from '../shared/errors.js';
import { builder } from './builder.js';

builder.enumType('ErrorCode', {
  description: 'Every value of `extensions.code` in an error this API returns.',
  values: ERROR_CODES,
});

/**
 * Tier 1 and 3 of the error model: a DomainError becomes a GraphQLError with its code; a
 * GraphQLError raised on purpose (validation, scope-auth) passes; anything else is masked,
 * so no database or Redis message, stack or secret reaches a client.
 */
export function maskError(error: unknown, message: string, options: { production: boolean }): GraphQLError {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  const path = error instanceof GraphQLError ? error.path : undefined;
  if (original instanceof DomainError) {
    return new GraphQLError(original.message, { path, extensions: { code: original.code, ...original.extensions } });
  }
  if (original instanceof GraphQLError) {
    // Parse, validation and coercion errors are the client's input: yoga's own codes for them
    // (GRAPHQL_PARSE_FAILED, ...) become BAD_USER_INPUT so every code is one of ErrorCode.
    const given = original.extensions.code;
    const code = typeof given === 'string' && (ERROR_CODES as readonly string[]).includes(given) ? given : 'BAD_USER_INPUT';
    const text = options.production ? withoutSuggestions(original.message) : original.message;
    // Yoga attaches the JSON parser's own error (its name, and a message quoting the body) to an
    // unparsable body: an error detail, kept out of production answers.
    const extensions: Record<string, unknown> = { ...original.extensions, code };
    if (options.production) delete extensions.originalError;
    if (original.message === INVALID_JSON) {
      // A body that is not JSON is no GraphQL request at all: 400 whatever the Accept header
      // (yoga's `spec` flag turned it into 200 for `application/json`), and the parser's message,
      // which quotes the body (twice), is not sent back (ASVS 5.0 V16.5.1: no input reflected).
      extensions.http = { status: 400 };
      delete extensions.originalError;
    }
    return new GraphQLError(text, { ...pick(original), path: path ?? original.path, extensions });
  }
  return new GraphQLError(message, { path, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

/** Yoga's message for a POST body that does not parse as JSON (request-parser/post-json). */
const INVALID_JSON = 'POST body sent invalid JSON.';

/** "Did you mean ...?" maps the schema for a caller who may not read it (introspection is off in production). */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean .*\?$/, '');
}

function pick(error: GraphQLError) {
  return { nodes: error.nodes, source: error.source, positions: error.positions };
}

/** True when an error would be masked, i.e. unexpected: the logger records those. */
export function isUnexpected(error: unknown): boolean {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  return !(original instanceof DomainError) && !(original instanceof GraphQLError);
}
