// The one place that gathers every module's GraphQL types.
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import './refs.js';
import '../modules/users/graphql.js';
import '../modules/users/federation.js';
import '../modules/auth/graphql.js';
import '../modules/mfa/graphql.js';
import '../modules/sessions/graphql.js';
import '../modules/password/graphql.js';
import '../modules/verification/graphql.js';
import '../modules/abuse/graphql.js';
import '../modules/analytics/graphql.js';
import '../modules/roles/graphql.js';
import '../modules/admin/graphql.js';
import '../modules/audit/graphql.js';
import '../modules/webhooks/graphql.js';
import '../modules/oauth/graphql.js';
import '../modules/passkeys/graphql.js';

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

export const schema = lexicographicSortSchema(builder.toSchema());
