import {
  getOperationAST,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { LatencyRecorder } from '../../modules/analytics/latency.js';

const starts = new WeakMap<object, number>();
const labels = new WeakMap<OperationDefinitionNode, string | null>();
const META_FIELDS = new Set(['__typename', '__schema', '__type']);

/**
 * What an operation is recorded as: the schema coordinate of its root field (`Query.me`,
 * `Mutation.login`; aliases and `__typename` beside other fields ignored), or `Query (several
 * fields)` when it selects more than one. Never the operation name: that is the client's free
 * text, so recording it would let any client grow the set of histograms without bound (and pass
 * one operation off as another); root fields are a closed set, fixed by the schema.
 */
export function labelOperation(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): string | null {
  if (operation.operation === 'subscription') return null;
  const root = schema.getRootType(operation.operation);
  if (!root) return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const names = new Set<string>();
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) names.add(s.name.value);
      else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet, seen);
      else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const fragment = fragments.get(s.name.value);
        if (fragment) visit(fragment.selectionSet, seen);
      }
    }
  };
  visit(operation.selectionSet, new Set());
  if (names.size > 1) names.delete('__typename');
  if (names.size > 1) return `${root.name} (several fields)`;
  const [name] = names;
  // Validation has run, so the name is the schema's; checked anyway, as the label set must stay closed.
  if (!name || !(META_FIELDS.has(name) || root.getFields()[name])) return null;
  return `${root.name}.${name}`;
}

/**
 * Measures each query and mutation, over HTTP and WebSocket alike, from the start of parsing to
 * the execution result: parse, validation, the context (token and session checks) and execution.
 * Reading the request and writing the response are not included, nor are subscriptions (their
 * lifetime is not a latency). Per operation it costs two performance.now() calls, two WeakMap
 * lookups and the recorder's array increment; the store is written by the recorder's timer.
 */
export function useLatency(recorder: Pick<LatencyRecorder, 'record'>): Plugin {
  return {
    onParse({ context }) {
      // One context object per operation, from getEnveloped through execute (envelop extends it in place).
      if (typeof context === 'object' && context) starts.set(context, performance.now());
    },
    onExecute({ args }) {
      const context = args.contextValue as object;
      const start = starts.get(context) ?? performance.now();
      return {
        onExecuteDone() {
          const ms = performance.now() - start;
          const operation = getOperationAST(args.document, args.operationName);
          if (!operation) return;
          let label = labels.get(operation);
          if (label === undefined) labels.set(operation, (label = labelOperation(args.schema, args.document, operation)));
          if (label) recorder.record(label, ms);
        },
      };
    },
  };
}
