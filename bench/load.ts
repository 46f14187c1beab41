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

/**
 * Runs autocannon in a child process. In this process it would share the event loop with the
 * gateway it measures, and the load generator's own CPU time would be charged to the server.
 */
export function runLoad(spec: LoadSpec, signal: AbortSignal): Promise<Measurement> {
  signal.throwIfAborted();
  // Aborting kills the child: the gateway must not be stopped while it is still under load.
  const child = fork(new URL('./load-worker.ts', import.meta.url), { stdio: 'inherit', signal });
  return new Promise((resolve, reject) => {
    let result: Measurement | undefined;
    child.once('message', (message) => (result = message as Measurement));
    // On abort, wait for 'exit' instead: only then has the last request been sent.
    child.once('error', (error) => signal.aborted || reject(error));
    child.once('exit', (code, killedBy) => {
      if (result) resolve(result);
      else reject(signal.aborted ? signal.reason : new Error(`the load generator exited (${killedBy ?? `code ${code}`}) without a result`));
    });
    child.send(spec);
  });
}
