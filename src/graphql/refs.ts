import type { AuthResult } from '../modules/sessions/auth-payload.js';
import type { UserRow } from '../modules/users/tables.js';
import { MFA_METHODS } from '../shared/mfa-methods.js';
import { builder } from './builder.js';

/*
 * The GraphQL types several modules return, declared once here and implemented by their owner
 * (users/graphql.ts implements User, auth/graphql.ts AuthPayload), so no module imports another
 * module's graphql.ts (.dependency-cruiser.cjs: no-foreign-graphql).
 */

export const UserRef = builder.objectRef<UserRow>('User');

export const AuthPayloadRef = builder.objectRef<AuthResult>('AuthPayload');

export const MfaMethodEnum = builder.enumType('MfaMethod', { values: MFA_METHODS });
