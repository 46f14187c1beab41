// The one place that gathers every module's GraphQL types.
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import '../modules/mfa/graphql.js';
import '../modules/users/graphql.js';
import '../modules/auth/graphql.js';
import '../modules/sessions/graphql.js';
import '../modules/password/graphql.js';
import '../modules/abuse/graphql.js';

builder.queryType({});
builder.mutationType({});

export const schema = lexicographicSortSchema(builder.toSchema());
