import type { Config } from '../../config.js';
import type { KeyRing } from './keys.js';

/** The claims an access token carries (service.ts signAccessToken), for `claims_supported`. */
const CLAIMS = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp', 'amr', 'email', 'email_verified', 'roles', 'scope'];

/**
 * OpenID Connect Discovery 1.0 metadata, so gateways configure themselves from the issuer alone.
 * Honest: it names only what exists. There is no authorization, token or userinfo endpoint (sign-in
 * is the GraphQL API), so none is listed and `response_types_supported` is empty; the signing
 * algorithms are those of the keys in the JWKS (during a JWT_ALG change, the old and the new one).
 * `issuer` is byte for byte the tokens' `iss` (OIDC Discovery §4.3).
 */
export function openidConfiguration(deps: { config: Config; keys: KeyRing }) {
  const issuer = deps.config.publicUrl;
  const algs = new Set([
    deps.config.jwtAlg,
    ...deps.keys
      .jwks()
      .keys.map((k) => k.alg)
      .filter((a): a is string => typeof a === 'string'),
  ]);
  return {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    id_token_signing_alg_values_supported: [...algs],
    subject_types_supported: ['public'],
    response_types_supported: [] as string[],
    claims_supported: CLAIMS,
  };
}
