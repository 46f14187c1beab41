import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import type { SessionRecord } from '../../shared/store.js';
import { listSessions, revokeOwnSession } from './service.js';

const SessionRef = builder.objectRef<SessionRecord>('Session').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => new Date(s.createdAt) }),
    lastSeenAt: t.field({ type: 'DateTime', resolve: (s) => new Date(s.lastSeenAt) }),
    expiresAt: t.field({ type: 'DateTime', description: 'When the session ends unless its refresh token is used.', resolve: (s) => new Date(s.expiresAt) }),
    ip: t.exposeString('ip', { nullable: true }),
    userAgent: t.exposeString('userAgent', { nullable: true }),
    mfaVerified: t.exposeBoolean('mfaVerified'),
    current: t.boolean({ description: 'True for the session of the token making this request.', resolve: (s, _, ctx) => s.id === ctx.auth?.sessionId }),
  }),
});

builder.queryField('mySessions', (t) =>
  t.field({
    type: [SessionRef],
    description: "The caller's live sessions, most recently active first.",
    authScopes: { authenticated: true },
    resolve: (_, __, ctx) => listSessions(ctx.deps, requireAuth(ctx).userId),
  }),
);

builder.mutationField('revokeSession', (t) =>
  t.boolean({
    description: "Ends one of the caller's sessions; NOT_FOUND for any other id.",
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => revokeOwnSession(ctx.deps, requireAuth(ctx).userId, String(id), ctx.meta),
  }),
);
