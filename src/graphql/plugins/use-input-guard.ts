import { GraphQLError, Kind, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * NUL is refused in every string an operation carries, literal or variable: Postgres cannot
 * store it in text or jsonb and fails the whole statement, which a client would see as
 * INTERNAL_SERVER_ERROR. No input of this API means anything with it (names, searches,
 * filters, role names, emails, tokens), so one check before execution covers them all;
 * the fields that hold text also refuse the other control characters (users/validation.ts).
 */
export function useInputGuard(): Plugin {
  const guard = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { document: DocumentNode; variableValues?: unknown };
    setResultAndStopExecution: (result: never) => void;
  }) => {
    if (!documentHasNul(args.document) && !valueHasNul(args.variableValues, 0)) return;
    const error = new GraphQLError('Text must not contain NUL characters', { extensions: { code: 'BAD_USER_INPUT' } });
    setResultAndStopExecution({ errors: [error] } as never);
  };
  return { onExecute: guard, onSubscribe: guard };
}

/** Yoga's parser cache hands out the same DocumentNode for the same text: walk each one once. */
const checked = new WeakMap<DocumentNode, boolean>();

function documentHasNul(document: DocumentNode): boolean {
  const known = checked.get(document);
  if (known !== undefined) return known;
  const found = walkForNul(document);
  checked.set(document, found);
  return found;
}

function walkForNul(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.STRING]: (node) => {
      if (node.value.includes('\u0000')) found = true;
    },
  });
  return found;
}

/** Depth-bounded: a variable is parsed JSON, whose size the request body limit caps already. */
function valueHasNul(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  const entries = Array.isArray(value) ? value : [...Object.keys(value), ...Object.values(value)];
  return entries.some((item) => valueHasNul(item, depth + 1));
}
