import type { Db } from '../../db/client.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Random } from '../../shared/random.js';
import type { Store } from '../../shared/store.js';
import { createSubscriberAccess, findStaleAccess, type SubscriberAccess } from './access.js';
import { createAuditFeed, type AuditFeed, type FeedHealth } from './feed.js';
import { startAuditRelay, type AuditRelay, type RelayOptions } from './relay.js';

/** Live audit events on this instance: the relay (publishing when it leads), the feed and the access checks. */
export type AuditLive = {
  relay: AuditRelay;
  feed: AuditFeed;
  access: SubscriberAccess;
  stop(): Promise<void>;
};

/**
 * Starts live audit delivery for one instance (src/server.ts startServices, after createDeps migrated). Every
 * instance runs a relay, of which one leads; every instance's feed hears every event. Resolves
 * after the relay's first attempt to lead, so an instance that starts first publishes every
 * event committed after its start.
 */
export async function startAuditLive(
  deps: { db: Db; store: Store; logger: Logger; random: Random; clock: Clock },
  options: { relay?: RelayOptions; accessTtlMs?: number; monotonic?: () => number; health?: Partial<FeedHealth> } = {},
): Promise<AuditLive> {
  const access = createSubscriberAccess(deps, { ttlMs: options.accessTtlMs, monotonic: options.monotonic });
  const feed = createAuditFeed({
    pubsub: deps.store.pubsub,
    logger: deps.logger,
    health: { ping: () => deps.store.ping(), ...options.health },
    beforeDispatch: (event) => {
      const stale = findStaleAccess(event);
      if (stale !== undefined) access.invalidate(stale);
    },
  });
  const relay = startAuditRelay(deps, options.relay);
  await relay.ready;
  return {
    relay,
    feed,
    access,
    async stop() {
      await relay.stop();
      await feed.close();
    },
  };
}
