import type { Backends } from './backends.js';
import { createCleanup } from './cleanup.js';
import { startGateway } from './servers.js';

/**
 * Child side of the audit fan-out run: the gateway instance the subscribers connect to, in a
 * process of its own, so its memory is its own (not the producer's or the clients'). Messages:
 * `{ type: 'start', backends, secretKey }` → `{ type: 'started', url }`;
 * `{ type: 'memory' }` → `{ type: 'memory', rss, heapUsed }` (after a full GC when exposed);
 * `{ type: 'stop' }` → cleans up and exits.
 */
export type GatewayRequest = { type: 'start'; backends: Backends; secretKey: string } | { type: 'memory' } | { type: 'stop' };
export type GatewayReply = { type: 'started'; url: string } | { type: 'memory'; rss: number; heapUsed: number };

const cleanup = createCleanup();
const reply = (message: GatewayReply) => process.send!(message);

process.on('message', (message: GatewayRequest) => {
  if (message.type === 'start') {
    startGateway(message.backends, cleanup, { secretKey: message.secretKey }).then(
      (url) => reply({ type: 'started', url }),
      (error: unknown) => {
        console.error('subscribed gateway failed to start:', error);
        void cleanup.run().finally(() => process.exit(1));
      },
    );
  } else if (message.type === 'memory') {
    (globalThis as { gc?: () => void }).gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    reply({ type: 'memory', rss, heapUsed });
  } else {
    void cleanup.run().finally(() => process.exit(0));
  }
});
// The parent gone (killed, crashed): do not outlive it.
process.on('disconnect', () => void cleanup.run().finally(() => process.exit(0)));
