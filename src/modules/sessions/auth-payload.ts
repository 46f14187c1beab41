import type { MfaMethod } from '../../shared/mfa-methods.js';
import type { UserRow } from '../users/tables.js';

/** What every sign-in, refresh and MFA step answers (GraphQL AuthPayload). */
export type AuthResult = {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string | null;
  refreshTokenExpiresAt: Date | null;
  mfaRequired: boolean;
  mfaMethods: MfaMethod[];
  defaultMfaMethod: MfaMethod | null;
  user: UserRow;
};

/**
 * The one builder of an AuthPayload: a full session's (access and refresh token), or a pending
 * login's (its access token only, and the second factors it accepts).
 */
export function buildAuthPayload(input: {
  access: { token: string; expiresAt: number };
  refresh: { token: string; expiresAt: number } | null;
  user: UserRow;
  mfa?: { methods: MfaMethod[]; defaultMethod: MfaMethod };
}): AuthResult {
  return {
    accessToken: input.access.token,
    accessTokenExpiresAt: new Date(input.access.expiresAt),
    refreshToken: input.refresh?.token ?? null,
    refreshTokenExpiresAt: input.refresh ? new Date(input.refresh.expiresAt) : null,
    mfaRequired: !!input.mfa,
    mfaMethods: input.mfa?.methods ?? [],
    defaultMfaMethod: input.mfa?.defaultMethod ?? null,
    user: input.user,
  };
}
