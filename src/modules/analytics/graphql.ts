import { builder } from '../../graphql/builder.js';
import type { OperationLatency } from './latency.js';
import type { SecurityCounts } from './queries.js';
import { getAnalytics, type Analytics } from './service.js';

const OperationLatencyRef = builder.objectRef<OperationLatency>('OperationLatency').implement({
  description: 'Latency of one operation over the window, from the start of parsing to the execution result.',
  fields: (t) => ({
    operation: t.exposeString('operation', {
      description: 'The root field as a schema coordinate (`Mutation.login`), or `Query (several fields)`; never the client-chosen operation name.',
    }),
    count: t.exposeInt('count'),
    p50Ms: t.exposeFloat('p50Ms'),
    p95Ms: t.exposeFloat('p95Ms'),
    p99Ms: t.exposeFloat('p99Ms'),
  }),
});

const count = (field: keyof SecurityCounts, description: string) => ({ description, resolve: async (a: Analytics) => (await a.counts())[field] }) as const;

const AnalyticsRef = builder.objectRef<Analytics>('Analytics').implement({
  description: 'Security events from the audit trail, and operation latency, over [since, until).',
  fields: (t) => ({
    since: t.expose('since', { type: 'DateTime' }),
    until: t.expose('until', { type: 'DateTime', description: 'Exclusive.' }),
    registrations: t.int(count('registrations', 'user.registered events.')),
    loginsSucceeded: t.int(count('loginsSucceeded', 'user.login events.')),
    loginsFailed: t.int(count('loginsFailed', 'user.login_failed events.')),
    mfaChallengesSucceeded: t.int(count('mfaChallengesSucceeded', 'mfa.challenge_succeeded events.')),
    mfaChallengesFailed: t.int(count('mfaChallengesFailed', 'mfa.challenge_failed events.')),
    latency: t.field({
      type: [OperationLatencyRef],
      description: 'Per operation, at minute resolution (every minute the window touches counts whole), sorted by operation.',
      resolve: (a) => a.latency(),
    }),
  }),
});

builder.queryField('analytics', (t) =>
  t.field({
    type: AnalyticsRef,
    description: 'Needs cap analytics:read. `until` defaults to now, `since` to 24 hours before `until`; at most 90 days.',
    authScopes: { cap: 'analytics:read' },
    args: { since: t.arg({ type: 'DateTime' }), until: t.arg({ type: 'DateTime' }) },
    resolve: (_, args, ctx) => getAnalytics(ctx.deps, args),
  }),
);
