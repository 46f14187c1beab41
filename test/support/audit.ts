import { and, eq } from 'drizzle-orm';
import { createClient, type Client } from 'graphql-ws';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { accessChanged } from '../../src/modules/roles/access-cache.js';
import { userRoles } from '../../src/modules/roles/tables.js';
import type { TestApp } from './app.js';

export const EVENT_FIELDS = 'id at action outcome actorId userId ip userAgent metadata';
export const SUBSCRIPTION = `subscription($filter: AuditFilter) { auditEvents(filter: $filter) { ${EVENT_FIELDS} } }`;

export type AuditEventJson = {
  id: string;
  at: string;
  action: string;
  outcome: string;
  actorId: string | null;
  userId: string | null;
  ip: string | null;
  userAgent: string | null;
  metadata: unknown;
};

/** The admin role holds every cap, audit:read included; caps are read per request, so this counts at once. */
export async function grantAdmin(app: TestApp, userId: string): Promise<void> {
  await app.deps.db.insert(userRoles).values({ userId, role: 'admin' }).onConflictDoNothing();
  // A grant written straight to the table, as the API's own role changes do after commit: the cached caps renew.
  await accessChanged(app.deps);
}

export async function revokeAdmin(app: TestApp, userId: string): Promise<void> {
  await app.deps.db.delete(userRoles).where(and(eq(userRoles.userId, userId), eq(userRoles.role, 'admin')));
  await accessChanged(app.deps);
}

/** What a live subscription has received so far, and how it ended. */
export type Received = {
  events: AuditEventJson[];
  /** Error codes received (a `next` with errors, or a protocol error). */
  errors: string[];
  /** Resolves when the server ends the stream (complete, error, or connection closed). */
  ended: Promise<void>;
  isEnded(): boolean;
  close(): Promise<void>;
};

function collector() {
  const events: AuditEventJson[] = [];
  const errors: string[] = [];
  let ended = false;
  let resolveEnded!: () => void;
  const endedPromise = new Promise<void>((resolve) => (resolveEnded = resolve));
  const onResult = (result: { data?: { auditEvents?: AuditEventJson } | null; errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) => {
    if (result.data?.auditEvents) events.push(result.data.auditEvents);
    for (const e of result.errors ?? []) errors.push(String(e.extensions?.code));
  };
  const end = () => {
    ended = true;
    resolveEnded();
  };
  return { events, errors, onResult, end, endedPromise, isEnded: () => ended };
}

export function wsClient(url: string, token: string): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
}

/** Subscribes to auditEvents over graphql-ws (a new connection unless `client` is given). */
export function subscribeWs(url: string, token: string, filter?: Record<string, unknown>, client?: Client): Received {
  const c = collector();
  const ws = client ?? wsClient(url, token);
  const unsubscribe = ws.subscribe(
    { query: SUBSCRIPTION, variables: { filter } },
    {
      next: (value) => c.onResult(value as never),
      error: (error) => {
        if (Array.isArray(error)) for (const e of error) c.errors.push(String((e as { extensions?: { code?: string } }).extensions?.code));
        else c.errors.push('CONNECTION');
        c.end();
      },
      complete: c.end,
    },
  );
  return {
    events: c.events,
    errors: c.errors,
    ended: c.endedPromise,
    isEnded: c.isEnded,
    async close() {
      unsubscribe();
      if (!client) await ws.dispose();
    },
  };
}

/** Subscribes over SSE: POST with `accept: text/event-stream`, through `fetcher` (yoga.fetch in process, or fetch over TCP). */
export async function subscribeSse(
  fetcher: (url: string, init: RequestInit) => Promise<Response>,
  url: string,
  token: string,
  filter?: Record<string, unknown>,
): Promise<Received & { status: number }> {
  const c = collector();
  const abort = new AbortController();
  const response = await fetcher(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: SUBSCRIPTION, variables: { filter } }),
    signal: abort.signal,
  });
  const reader = response.body!.getReader();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += decoder.decode(chunk.value, { stream: true });
        let split: number;
        while ((split = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'next' && data) c.onResult(JSON.parse(data));
          if (event === 'complete') c.end();
        }
      }
    } catch {
      // cancelled by close()
    }
    c.end();
  })();
  return {
    status: response.status,
    events: c.events,
    errors: c.errors,
    ended: c.endedPromise,
    isEnded: c.isEnded,
    async close() {
      // Cancelling the body is what ends the subscription in process (yoga.fetch has no socket to close).
      await reader.cancel().catch(() => undefined);
      abort.abort();
    },
  };
}

/** Waits until `app` has `count` live audit subscriptions: from then on, no event is missed. */
export async function waitForSubscribers(app: TestApp, count: number): Promise<void> {
  await expect.poll(() => app.deps.audit.feed.size, { timeout: 5_000 }).toBe(count);
}

/** Waits for `received` to hold an event matching `predicate`, and returns it. */
export async function waitForEvent(received: Pick<Received, 'events'>, predicate: (e: AuditEventJson) => boolean, timeout = 5_000): Promise<AuditEventJson> {
  await expect.poll(() => received.events.some(predicate), { timeout }).toBe(true);
  return received.events.find(predicate)!;
}
