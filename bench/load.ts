import { fork } from 'node:child_process';
import type { Measurement } from './measurement.js';

/** One autocannon run: POST `body` to `url` until `seconds` are up. */
export type LoadSpec = {
  url: string;
  /** One body for every request, or a list sent in turn (the next request on any connection takes the next one). */
  body: string | string[];
  token?: string;
  connections: number;
  seconds: number;
  /** A substring every good response body contains (bodies with "errors" never count as good). */
  expect: string;
  /** A substring of an expected refusal (load shedding): counted as `refused`, not as a bad body. */
  refused?: string;
  /**
   * Refresh token rotation: one refresh token per connection (as many as `connections`); each
   * connection sends `body` with `$TOKEN` replaced by its current token and takes the rotated one
   * from each answer, as a client does.
   */
  refreshTokens?: string[];
};

/** A load generator kept for several runs: one warm child process instead of a fresh one per run. */
export type LoadGenerator = {
  run(spec: LoadSpec): Promise<Measurement>;
  /** Ends the child (it exits once its channel closes). */
  close(): void;
};

/**
 * Runs autocannon in a child process. In this process it would share the event loop with the
 * gateway it measures, and the load generator's own CPU time would be charged to the server.
 * The child serves one run after another (a warm-up and its run, the slices of login): a fresh
 * child per 2 s slice would start tsx and autocannon anew each time and send each slice's first
 * requests from unoptimised code.
 */
export function openLoadGenerator(signal: AbortSignal): LoadGenerator {
  signal.throwIfAborted();
  // Aborting kills the child: the gateway must not be stopped while it is still under load.
  const child = fork(new URL('./load-worker.ts', import.meta.url), { stdio: 'inherit', signal });
  let pending: { resolve: (m: Measurement) => void; reject: (error: unknown) => void } | null = null;
  let ended: Error | null = null;
  const end = (error: Error) => {
    ended ??= error;
    pending?.reject(ended);
    pending = null;
  };
  child.on('message', (message) => {
    pending?.resolve(message as Measurement);
    pending = null;
  });
  // On abort, wait for 'exit' instead: only then has the last request been sent.
  child.on('error', (error) => signal.aborted || end(error));
  child.once('exit', (code, killedBy) =>
    end(signal.aborted ? (signal.reason as Error) : new Error(`the load generator exited (${killedBy ?? `code ${code}`}) without a result`)),
  );
  return {
    run: (spec) =>
      new Promise((resolve, reject) => {
        if (ended) return reject(ended);
        if (pending) return reject(new Error('one run at a time'));
        pending = { resolve, reject };
        child.send(spec);
      }),
    close: () => {
      if (child.connected) child.disconnect();
    },
  };
}

/** `use` with a load generator that is closed afterwards, whatever happens. */
export async function withLoadGenerator<T>(signal: AbortSignal, use: (load: LoadGenerator) => Promise<T>): Promise<T> {
  const load = openLoadGenerator(signal);
  try {
    return await use(load);
  } finally {
    load.close();
  }
}
