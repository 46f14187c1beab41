import type { GraphiQLOptions } from 'graphql-yoga';

/** What GraphiQL opens with: a sign-up and a sign-in, and where the access token goes. */
const DEFAULT_QUERY = `# Welcome to the gateway's GraphiQL (not served in production).
#
# 1. Run Register (or Login) with the variables below.
# 2. Copy accessToken into the Headers tab:
#      { "Authorization": "Bearer <accessToken>" }
# 3. Run Me.
#
# Mails (verification, reset and magic links) are printed to the server's log.

mutation Register($email: String!, $password: String!) {
  register(input: { email: $email, password: $password }) {
    user { id email roles }
    auth { accessToken refreshToken }
  }
}

mutation Login($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) {
    accessToken
    refreshToken
    mfaRequired
    user { id email }
  }
}

query Me {
  me { id email emailVerified roles caps }
}
`;

const DEFAULT_VARIABLES = JSON.stringify({ email: 'grace@example.com', password: 'correct horse battery staple' }, null, 2);

/** GraphiQL's options: the example operation, and subscriptions over graphql-ws on the same path. */
export function graphiqlOptions(appName: string): GraphiQLOptions {
  return {
    title: `${appName} · GraphiQL`,
    defaultTabs: [{ query: DEFAULT_QUERY, variables: DEFAULT_VARIABLES, headers: '{}' }],
    subscriptionsProtocol: 'WS',
  };
}

/**
 * GraphiQL with every asset inlined from @graphql-yoga/render-graphiql, so it works with no
 * network (yoga's default loads it from a CDN). Loaded on the first request (about 9 MB of
 * script; production never serves GraphiQL) and rendered once per app: its options never change.
 */
export function createGraphiQLRenderer(): (options: GraphiQLOptions) => Promise<string> {
  let rendered: Promise<string> | undefined;
  return (options) => (rendered ??= import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(options)));
}
