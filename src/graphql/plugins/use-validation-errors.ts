import type { Plugin } from 'graphql-yoga';
import { ERROR_CODES } from '../../shared/errors.js';
import { withoutSuggestions } from '../errors.js';

/**
 * Validation errors skip error masking, and yoga labels them GRAPHQL_VALIDATION_FAILED.
 * They are the client's input: BAD_USER_INPUT, so every code is one of ErrorCode. In
 * production their "Did you mean ...?" hints go, as they would map the schema for a caller
 * who cannot introspect it.
 */
export function useValidationErrors(options: { production: boolean }): Plugin {
  return {
    onValidate() {
      return ({ valid, result }) => {
        if (valid) return;
        for (const error of result) {
          const code = error.extensions.code;
          if (typeof code !== 'string' || !(ERROR_CODES as readonly string[]).includes(code)) {
            (error.extensions as Record<string, unknown>).code = 'BAD_USER_INPUT';
          }
          if (options.production) error.message = withoutSuggestions(error.message);
        }
      };
    },
  };
}
