import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * Child side of the audit fan-out run: `count` dashboards, one WebSocket each, subscribed to
 * auditEvents. In its own process so that parsing 1,000 copies of every event does not run on
 * the gateway's event loop. Messages:
 * `{ type: 'start', url, tokens, count }` → `{ type: 'ready' }` once every subscriber has received an event;
 * `{ type: 'measure', userId }` → counts latency (receipt − event.at) of that user's events from now on;
 * `{ type: 'report' }` → `{ type: 'report', latencies (ms, sorted), perSubscriber (events each), errors }`;
 * `{ type: 'stop' }` → closes every connection and exits.
 */
export type SubscribersRequest =
  | { type: 'start'; url: string; tokens: string[]; count: number }
  | { type: 'measure'; userId: string }
  | { type: 'report' }
  | { type: 'stop' };
export type SubscribersReply = { type: 'ready' } | { type: 'report'; latencies: number[]; perSubscriber: number[]; errors: number };

type AuditEventMessage = { data?: { auditEvents?: { at: string; userId: string | null } } | null; errors?: readonly unknown[] };

const SUBSCRIPTION = 'subscription { auditEvents { id at action userId } }';
const clients: Client[] = [];
let measuring: string | null = null;
let latencies: number[] = [];
let perSubscriber: number[] = [];
let errors = 0;

function start(url: string, tokens: string[], count: number) {
  const heard = new Set<number>();
  perSubscriber = new Array<number>(count).fill(0);
  for (let i = 0; i < count; i++) {
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${tokens[i % tokens.length]}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => void errors++,
    });
    clients.push(client);
    client.subscribe<AuditEventMessage['data']>(
      { query: SUBSCRIPTION },
      {
        next: (result: AuditEventMessage) => {
          const event = result.data?.auditEvents;
          if (!event) return void errors++;
          if (!heard.has(i)) {
            heard.add(i);
            if (heard.size === count) process.send!({ type: 'ready' } satisfies SubscribersReply);
          }
          if (measuring && event.userId === measuring) {
            latencies.push(Date.now() - Date.parse(event.at));
            perSubscriber[i]!++;
          }
        },
        error: () => void errors++,
        complete: () => undefined,
      },
    );
  }
}

process.on('message', (message: SubscribersRequest) => {
  if (message.type === 'start') start(message.url, message.tokens, message.count);
  else if (message.type === 'measure') {
    measuring = message.userId;
    latencies = [];
    perSubscriber.fill(0);
  } else if (message.type === 'report') {
    process.send!({ type: 'report', latencies: latencies.sort((a, b) => a - b), perSubscriber, errors } satisfies SubscribersReply);
  } else {
    void Promise.all(clients.map((c) => c.dispose())).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
