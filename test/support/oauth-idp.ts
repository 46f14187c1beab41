import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

/** An account at the test provider. */
export type IdpAccount = { sub: string; email?: string; emailVerified?: boolean; name?: string };

/**
 * One-shot changes to the next token response's id_token, re-signed: with the provider's own key
 * (a claim changed) or with another key under the same kid (a forged signature).
 */
export type IdTokenTamper = { claims?: Record<string, unknown>; key?: 'own' | 'other' };

export type TestIdp = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The account the next interaction signs in as (until changed), or 'deny' for access_denied. */
  signInAs(account: IdpAccount | 'deny'): void;
  /** Rewrites the id_token of the next token response only. */
  tamperNextIdToken(tamper: IdTokenTamper): void;
  close(): Promise<void>;
};

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
}

/**
 * A real OpenID Provider (oidc-provider) on a free loopback port, with one confidential client
 * for the given redirect URIs. Its only interaction is test-only: it completes at once as the
 * account chosen with signInAs (consent is granted without a prompt).
 */
export async function startTestIdp(redirectUris: string[]): Promise<TestIdp> {
  const server = createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  const accounts = new Map<string, IdpAccount>();
  let next: IdpAccount | 'deny' = { sub: 'nobody' };
  let tamper: IdTokenTamper | null = null;
  const jwk = await signingKey();
  const clientId = 'gateway';
  const clientSecret = 'gateway-client-secret-0123456789';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-idp-cookie-key'] },
    ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: KoaContextWithOIDC, sub: string) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, email: account.email, email_verified: account.emailVerified, name: account.name }),
      };
    },
    // No consent prompt: the grant is made for whatever the client asked (oidc-provider's "skip consent" recipe).
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      const grant = new oidc.provider.Grant({ clientId: oidc.client!.clientId, accountId: oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  const handle = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse) {
    await provider.interactionDetails(req, res);
    const chosen = next;
    if (chosen !== 'deny') accounts.set(chosen.sub, chosen);
    const result = chosen === 'deny' ? { error: 'access_denied', error_description: 'The user said no' } : { login: { accountId: chosen.sub } };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  /** Buffers the token response and rewrites its id_token once, when asked. */
  function tamperTokenResponse(res: ServerResponse, change: IdTokenTamper) {
    const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
    res.end = ((chunk?: unknown) => {
      void (async () => {
        const body = JSON.parse(String(chunk)) as { id_token?: string };
        if (body.id_token) body.id_token = await resign(body.id_token, change, jwk);
        const text = JSON.stringify(body);
        res.setHeader('content-length', Buffer.byteLength(text));
        end(text);
      })();
      return res;
    }) as typeof res.end;
  }

  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    if (req.method === 'POST' && req.url?.startsWith('/token') && tamper) {
      tamperTokenResponse(res, tamper);
      tamper = null;
    }
    handle(req, res);
  });

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs: (account) => {
      next = account;
    },
    tamperNextIdToken: (change) => {
      tamper = change;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function resign(idToken: string, change: IdTokenTamper, own: JWK): Promise<string> {
  const header = decodeProtectedHeader(idToken);
  const claims = { ...decodeJwt(idToken), ...change.claims };
  const key = change.key === 'other' ? (await generateKeyPair('RS256')).privateKey : await importJWK(own, 'RS256');
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: header.kid, typ: header.typ }).sign(key);
}
