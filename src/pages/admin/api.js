// The console's only way to the server: the public GraphQL API over HTTP, with the signed-in
// admin's bearer token. Tokens stay in this module's memory (never localStorage, never a
// cookie the page can read): a reload signs out, and no other script on the origin finds them.

const session = { accessToken: null, refreshToken: null, user: null };
const listeners = new Set();
let refreshing = null;

/** An error answer, with its extensions.code (FORBIDDEN, GRAPHQL_VALIDATION_FAILED, ...). */
export class ApiError extends Error {
  constructor(message, code, extensions = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
  }
}

/**
 * The server lacks a field or type the console asked for (a feature this server does not have):
 * yoga's GRAPHQL_VALIDATION_FAILED, which this gateway reports as BAD_USER_INPUT.
 */
const MISSING = /^(Cannot query field|Unknown type|Unknown argument|Variable "\$\w+" of type .* used in position)/;
export const isUnavailable = (error) => error?.code === 'GRAPHQL_VALIDATION_FAILED' || (error?.code === 'BAD_USER_INPUT' && MISSING.test(error.message));

export const USER_FIELDS = 'id email name roles caps mfaEnabled';

export function currentUser() {
  return session.user;
}

export function accessToken() {
  return session.accessToken;
}

export function hasCap(cap) {
  return !!session.user?.caps.includes(cap);
}

/** Called with the reason (null on a sign-out the admin asked for) whenever the session ends. */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(reason) {
  for (const listener of listeners) listener(reason);
}

export function startSession(auth) {
  session.accessToken = auth.accessToken;
  session.refreshToken = auth.refreshToken;
  session.user = auth.user;
  notify(null);
}

/** Forgets the tokens; `reason` is shown on the sign-in page. */
export function endSession(reason) {
  if (!session.accessToken) return;
  session.accessToken = session.refreshToken = session.user = null;
  notify(reason);
}

async function post(query, variables, token) {
  // The CSRF header as for any browser client (README "Cookies"); the bearer token is what counts.
  const headers = { 'content-type': 'application/json', 'x-graphql-yoga-csrf': '1' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch('/graphql', { method: 'POST', headers, credentials: 'omit', body: JSON.stringify({ query, variables }) });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The server answered ${response.status}.`, 'INTERNAL_SERVER_ERROR');
  }
  return { status: response.status, body };
}

const unauthenticated = ({ status, body }) => status === 401 || body.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED');

function failure(body) {
  const first = body.errors[0];
  return new ApiError(first.message, first.extensions?.code ?? 'INTERNAL_SERVER_ERROR', first.extensions ?? {});
}

/** A call with a given token (or none): sign-in steps, before a session exists. */
export async function gqlWith(token, query, variables = {}) {
  const { body } = await post(query, variables, token);
  if (body.errors?.length) throw failure(body);
  return body.data;
}

const AUTH_FIELDS = `accessToken refreshToken mfaRequired mfaMethods defaultMfaMethod user { ${USER_FIELDS} }`;
export { AUTH_FIELDS };

/** Rotates the refresh token once for any number of callers that found the access token expired. */
function refresh() {
  refreshing ??= gqlWith(null, `mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`, { t: session.refreshToken })
    .then(({ refreshToken: auth }) => {
      session.accessToken = auth.accessToken;
      session.refreshToken = auth.refreshToken;
      session.user = auth.user;
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/**
 * A call in the session. An expired access token is refreshed once; a session that has ended
 * (401 or UNAUTHENTICATED after that) signs the console out.
 */
export async function gql(query, variables = {}) {
  let answer = await post(query, variables, session.accessToken);
  if (unauthenticated(answer) && session.refreshToken && (await refresh())) answer = await post(query, variables, session.accessToken);
  if (unauthenticated(answer)) {
    endSession('Your session has ended. Sign in again.');
    throw failure(answer.body.errors?.length ? answer.body : { errors: [{ message: 'Signed out', extensions: { code: 'UNAUTHENTICATED' } }] });
  }
  if (answer.body.errors?.length) throw failure(answer.body);
  return answer.body.data;
}

/** Ends the session on the server too (best effort: the tokens are forgotten either way). */
export async function signOut() {
  const token = session.accessToken;
  endSession(null);
  if (token) await gqlWith(token, 'mutation { logout }').catch(() => undefined);
}
