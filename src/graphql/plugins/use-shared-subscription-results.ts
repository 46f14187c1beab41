import { createSourceEventStream, execute, getOperationAST, Kind, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { type Plugin, Repeater } from 'graphql-yoga';

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * Fan-out without re-execution. GraphQL executes a subscription's selection once per event per
 * subscriber; with a thousand dashboards on one event, that execution was most of the cost of
 * delivering it. For operations whose only root field is one of `fields`, this executes an event
 * once per distinct (document, operation, variables) and hands every such subscriber the same
 * result; the subscribe phase (authorization, arguments, the field's subscribe) runs per
 * subscriber as before.
 *
 * Only for fields whose per-event result depends on the event alone, never on the subscriber's
 * context: the result executed for one subscriber is what the others receive. An item that is
 * one subscriber's own (an end-of-stream marker) is a distinct object, so it is never shared.
 * Shared results are frozen, so a plugin that tried to alter one per subscriber fails loudly
 * instead of leaking into another subscriber's stream.
 */
export function useSharedSubscriptionResults(fields: readonly string[]): Plugin {
  const shared = new Set(fields);
  // Event object → (document, operation, variables) → result; an event's entry goes with the event.
  const results = new WeakMap<object, Map<string, Result>>();
  const documentIds = new WeakMap<object, number>();
  let nextDocumentId = 0;

  const keyOf = (args: ExecutionArgs) => {
    let id = documentIds.get(args.document);
    if (id === undefined) documentIds.set(args.document, (id = nextDocumentId++));
    return JSON.stringify([id, args.operationName ?? null, args.variableValues ?? null]);
  };

  const executeShared = (args: ExecutionArgs, key: string, event: unknown): Result => {
    if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
    let byKey = results.get(event);
    if (!byKey) results.set(event, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) {
      const run = async () => Object.freeze(await execute({ ...args, rootValue: event }));
      byKey.set(key, (result = run()));
    }
    return result;
  };

  return {
    onSubscribe({ args, setSubscribeFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      const selections = operation?.selectionSet.selections ?? [];
      if (selections.length !== 1 || selections[0]!.kind !== Kind.FIELD || !shared.has(selections[0]!.name.value)) return;
      setSubscribeFn(async (subscribeArgs) => {
        const stream = await createSourceEventStream(subscribeArgs as ExecutionArgs);
        if (!(Symbol.asyncIterator in stream)) return stream;
        const key = keyOf(subscribeArgs as ExecutionArgs);
        const source = stream[Symbol.asyncIterator]();
        // Closing on unsubscribe: nobody is left to hear a failure of the source's return().
        const closeSource = () =>
          Promise.resolve(source.return?.()).then(
            () => {},
            () => {},
          );
        const mapped = new Repeater<ExecutionResult>(async (push, stop) => {
          // The client unsubscribing reaches the source at once, whatever it is waiting for.
          void stop.then(closeSource);
          try {
            for (let item = await source.next(); !item.done; item = await source.next()) {
              await push(executeShared(subscribeArgs as ExecutionArgs, key, item.value));
            }
          } finally {
            stop();
          }
        });
        // The executor runs from the first pull: a client gone before that still closes the source.
        const dispose = mapped.return.bind(mapped);
        mapped.return = (value) => (void closeSource(), dispose(value));
        return mapped;
      });
    },
  };
}
