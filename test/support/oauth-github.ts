import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A GitHub account: `/user` gives id, login, name and the public email; `/user/emails` the rest. */
export type GitHubAccount = {
  id: number;
  login: string;
  name?: string;
  publicEmail?: string | null;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
};

export type GitHubStub = {
  /** Base URL; the endpoints are /login/oauth/authorize, /login/oauth/access_token and /user. */
  url: string;
  clientId: string;
  clientSecret: string;
  signInAs(account: GitHubAccount | 'deny'): void;
  close(): Promise<void>;
};

/**
 * A small OAuth 2.0 server shaped like GitHub's (not OIDC): authorize redirects straight back as
 * the chosen account; the token endpoint checks the client, the code (once) and PKCE S256, and
 * answers JSON; /user and /user/emails need the bearer token it issued.
 */
export async function startGitHubStub(): Promise<GitHubStub> {
  const clientId = 'gh-client';
  const clientSecret = 'gh-secret-0123456789';
  let next: GitHubAccount | 'deny' = { id: 0, login: 'nobody', emails: [] };
  const codes = new Map<string, { account: GitHubAccount; redirectUri: string; challenge: string | null }>();
  const tokens = new Map<string, GitHubAccount>();

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readForm = async (req: IncomingMessage) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    return new URLSearchParams(body);
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const redirect = new URL(url.searchParams.get('redirect_uri') ?? '');
      const state = url.searchParams.get('state');
      if (state) redirect.searchParams.set('state', state);
      if (url.searchParams.get('client_id') !== clientId || next === 'deny') redirect.searchParams.set('error', 'access_denied');
      else {
        const code = randomBytes(10).toString('hex');
        codes.set(code, { account: next, redirectUri: redirect.origin + redirect.pathname, challenge: url.searchParams.get('code_challenge') });
        redirect.searchParams.set('code', code);
      }
      res.writeHead(302, { location: redirect.href });
      return res.end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const form = await readForm(req);
      const grant = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const pkceOk = !grant?.challenge || createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) return json(res, 401, { error: 'invalid_client' });
      if (!grant || grant.redirectUri !== form.get('redirect_uri') || !pkceOk) return json(res, 400, { error: 'invalid_grant' });
      const token = `gho_${randomBytes(16).toString('hex')}`;
      tokens.set(token, grant.account);
      return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    const account = tokens.get((req.headers.authorization ?? '').replace(/^(Bearer|token) /i, ''));
    if (req.method === 'GET' && (url.pathname === '/user' || url.pathname === '/user/emails')) {
      if (!account) return json(res, 401, { message: 'Bad credentials' });
      if (url.pathname === '/user')
        return json(res, 200, { id: account.id, login: account.login, name: account.name ?? null, email: account.publicEmail ?? null });
      return json(
        res,
        200,
        account.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })),
      );
    }
    json(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    clientId,
    clientSecret,
    signInAs: (account) => {
      next = account;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
