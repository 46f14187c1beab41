import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { PageInfoRef } from '../../graphql/pagination.js';
import { DomainError, UnauthenticatedError } from '../../shared/errors.js';
import { parseAuditFilter } from './filter.js';
import { listAuditLogs, type AuditPage } from './service.js';
import { openAuditSubscription, type AuditStreamEnd } from './subscription.js';
import type { AuditEvent } from './tables.js';

const AuditOutcome = builder.enumType('AuditOutcome', { values: ['SUCCESS', 'FAILURE'] as const });

const AuditEventRef = builder.objectRef<AuditEvent>('AuditEvent').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.expose('at', { type: 'DateTime' }),
    action: t.exposeString('action', { description: 'Dotted event name, e.g. user.login, user.login_failed, mfa.enabled (the README lists them all).' }),
    outcome: t.expose('outcome', { type: AuditOutcome }),
    actorId: t.exposeID('actorId', { nullable: true, description: 'Who did it (null for anonymous attempts).' }),
    userId: t.exposeID('userId', { nullable: true, description: 'Whose account it concerns.' }),
    ip: t.exposeString('ip', { nullable: true }),
    userAgent: t.exposeString('userAgent', { nullable: true }),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    requestId: t.exposeString('requestId', {
      nullable: true,
      description:
        'The X-Request-Id of the request that caused it, as in its response header and log lines (null on events recorded before this field existed).',
    }),
  }),
});

const AuditEventConnectionRef = builder.objectRef<AuditPage>('AuditEventConnection').implement({
  fields: (t) => ({
    nodes: t.expose('nodes', { type: [AuditEventRef] }),
    pageInfo: t.expose('pageInfo', { type: PageInfoRef }),
  }),
});

const AuditFilterInput = builder.inputType('AuditFilter', {
  fields: (t) => ({
    userId: t.id(),
    actorId: t.id(),
    actions: t.stringList({ description: 'Any of these actions; an empty list matches nothing.' }),
    outcome: t.field({ type: AuditOutcome }),
    since: t.field({ type: 'DateTime', description: 'Inclusive.' }),
    until: t.field({ type: 'DateTime', description: 'Exclusive.' }),
  }),
});

builder.queryField('auditLogs', (t) =>
  t.field({
    type: AuditEventConnectionRef,
    description: "Needs cap audit:read; without it, only the caller's own events.",
    authScopes: { authenticated: true },
    args: { filter: t.arg({ type: AuditFilterInput }), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_, args, ctx) => {
      const { userId } = requireAuth(ctx);
      return listAuditLogs(ctx.deps, { userId, caps: (await ctx.access()).caps }, args);
    },
  }),
);

const ENDED: Record<AuditStreamEnd['end'], () => Error> = {
  UNAUTHENTICATED: () => new UnauthenticatedError('The session has ended'),
  FORBIDDEN: () => new DomainError('FORBIDDEN', 'Not allowed'),
  // Not the client's input, but its pace: back off and subscribe again (backfilling from auditLogs).
  TOO_SLOW: () => new DomainError('RATE_LIMITED', 'The subscriber fell too far behind; subscribe again', { retryAfter: 1 }),
  UNAVAILABLE: () => new Error('audit subscriber check failed'),
};

builder.subscriptionField('auditEvents', (t) =>
  t.field({
    type: AuditEventRef,
    description: 'Live audit events, as they are committed, on every instance. Needs cap audit:read.',
    authScopes: { cap: 'audit:read' },
    args: { filter: t.arg({ type: AuditFilterInput }) },
    subscribe: (_, args, ctx) => {
      const { userId, sessionId } = requireAuth(ctx);
      return openAuditSubscription(ctx.deps.audit, { userId, sessionId }, { filter: parseAuditFilter(args.filter), cap: 'audit:read' });
    },
    // The last item of a stream that ended says why: an error with its code, then completion.
    // Nothing here may depend on the subscriber: an event's result is shared by all of them
    // (useSharedSubscriptionResults).
    resolve: (delivery, _, ctx) => {
      if (!('end' in delivery)) return delivery;
      // Masked for the client; logged here, as subscription results pass no execution hook that would.
      if (delivery.cause) ctx.deps.logger.error({ err: delivery.cause, reqId: ctx.meta.requestId }, 'audit subscriber check failed');
      throw ENDED[delivery.end]();
    },
  }),
);
