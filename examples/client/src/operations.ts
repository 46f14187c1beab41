import { graphql } from './gql';
import type { ErrorCode } from './gql/enums';
import type { LoginMutation, MeQuery } from './gql/graphql';

export const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      accessToken
      accessTokenExpiresAt
      refreshToken
      mfaRequired
      user { id email roles }
    }
  }
`);

export const MeDocument = graphql(`
  query Me {
    me { id email emailVerified createdAt }
  }
`);

/** `extensions.code` of an error, typed: every value the gateway may send. */
export function errorCode(error: { extensions?: Record<string, unknown> }): ErrorCode | undefined {
  return error.extensions?.code as ErrorCode | undefined;
}

/** The scalars as mapped in codegen.ts: DateTime is a string. */
export function signedUpAt(data: MeQuery): string | undefined {
  return data.me?.createdAt;
}

export function isMfaPending(data: LoginMutation): boolean {
  return data.login.mfaRequired;
}

// Compile-time checks of the generated types (the suite type-checks this file).
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export const dateTimeIsString: Equal<NonNullable<MeQuery['me']>['createdAt'], string> = true;
export const rateLimited: ErrorCode = 'RATE_LIMITED';
