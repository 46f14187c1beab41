// The pages behind the mailed links (APP_URL/verify-email, /reset-password, /magic-link) when
// APP_URL is the gateway itself. They use only the public GraphQL API, like any front end.
// No inline script or style: the pages are served with `default-src 'self'`.

const $ = (id) => document.getElementById(id);
// Beside /_gateway/pages.js, whichever page (/magic-link, /oauth/callback) loaded it.
const GRAPHQL_URL = new URL('../graphql', import.meta.url);
const CSRF_HEADER = 'x-graphql-yoga-csrf';

/** One GraphQL POST; the CSRF header lets the cookie count (README "Cookies"). */
async function gql(query, variables, bearer) {
  const headers = { 'content-type': 'application/json', [CSRF_HEADER]: '1' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(GRAPHQL_URL, { method: 'POST', headers, credentials: 'same-origin', body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors?.length) {
    const error = new Error(body.errors[0].message);
    error.code = body.errors[0].extensions?.code;
    throw error;
  }
  return body.data;
}

const MESSAGES = {
  INVALID_TOKEN: 'This link is invalid, expired or was already used. Ask for a new one.',
  WEAK_PASSWORD: null, // the server's message says what is wrong
  RATE_LIMITED: 'Too many attempts. Wait a moment and try again.',
  INVALID_CODE: 'That code is not right. Try again.',
  IDENTITY_CONFLICT: 'This provider account cannot be used here: sign in another way, then link it from your settings.',
  ACCOUNT_DISABLED: 'This account is disabled.',
};

function show(text, isError = false) {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

function fail(error) {
  show(MESSAGES[error.code] ?? error.message ?? 'Something went wrong.', true);
}

/** Runs `action` on submit, with the button disabled meanwhile. */
function onSubmit(form, action) {
  form.hidden = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll('button');
    for (const b of buttons) b.disabled = true;
    try {
      await action(new FormData(form));
    } catch (error) {
      fail(error);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  });
}

/**
 * A link is used only on a click, never on load: mail scanners and link previews open links,
 * and a single-use token spent by a scanner would fail for the user.
 */
function confirmThen(label, action) {
  $('confirm-button').textContent = label;
  onSubmit($('confirm'), async () => {
    await action();
  });
}

function verifyEmail(token) {
  document.title = $('title').textContent = 'Verify your email address';
  show('Confirm that this address is yours.');
  confirmThen('Verify email address', async () => {
    await gql('mutation VerifyEmail($token: String!) { verifyEmail(token: $token) }', { token });
    $('confirm').hidden = true;
    show('Your email address is verified. You can close this page.');
  });
}

function resetPassword(token) {
  document.title = $('title').textContent = 'Choose a new password';
  show('At least 8 characters; a long passphrase is best.');
  onSubmit($('new-password'), async (form) => {
    const password = form.get('password');
    if (password !== form.get('password-again')) return show('The two passwords differ.', true);
    await gql('mutation ResetPassword($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }', { token, password });
    $('new-password').hidden = true;
    show('Your password is set, and every session was signed out. Sign in with the new password.');
  });
}

const AUTH = 'mfaRequired mfaMethods defaultMfaMethod accessToken user { email }';

function magicLink(token) {
  document.title = $('title').textContent = 'Sign in';
  show('Continue to sign in with this link.');
  confirmThen('Sign in', async () => {
    const { loginWithMagicLink: auth } = await gql(`mutation MagicLink($token: String!) { loginWithMagicLink(token: $token, setCookie: true) { ${AUTH} } }`, {
      token,
    });
    $('confirm').hidden = true;
    if (auth.mfaRequired) return secondFactor(auth);
    signedIn(auth);
  });
}

/** The pending token stays in this page's memory only, for verify2fa. */
function secondFactor(pending) {
  show('Enter a code from your second factor.');
  const select = $('method');
  for (const method of pending.mfaMethods) select.add(new Option(method.replace('_', ' ').toLowerCase(), method, false, method === pending.defaultMfaMethod));
  onSubmit($('second-factor'), async (form) => {
    const input = { method: form.get('method'), code: String(form.get('code')).trim(), setCookie: true };
    const { verify2fa: auth } = await gql(`mutation Verify($input: Verify2faInput!) { verify2fa(input: $input) { ${AUTH} } }`, { input }, pending.accessToken);
    $('second-factor').hidden = true;
    signedIn(auth);
  });
}

function signedIn(auth) {
  show(`Signed in as ${auth.user.email}. The session is kept in HttpOnly cookies for this site.`);
}

const ROUTES = { 'verify-email': verifyEmail, 'reset-password': resetPassword, 'magic-link': magicLink };

/** APP_URL/oauth/callback: the provider sign-in's landing, with ?code= (once, 60 s) or ?error=<ErrorCode>. */
async function oauthCallback(params) {
  document.title = $('title').textContent = 'Sign in';
  const error = params.get('error');
  if (error) return show(MESSAGES[error] ?? `The sign-in did not complete (${error}).`, true);
  const code = params.get('code');
  if (!code) return show('Nothing to finish here: start the sign-in again.', true);
  try {
    const { finishOAuth: auth } = await gql(`mutation Finish($code: String!) { finishOAuth(code: $code, setCookie: true) { ${AUTH} } }`, { code });
    if (auth.mfaRequired) return secondFactor(auth);
    signedIn(auth);
  } catch (failure) {
    fail(failure);
  }
}

function start() {
  if (location.pathname.endsWith('/oauth/callback')) {
    const params = new URLSearchParams(location.search);
    history.replaceState(null, '', location.pathname);
    return oauthCallback(params);
  }
  const route = ROUTES[location.pathname.split('/').pop()];
  const token = new URLSearchParams(location.search).get('token');
  // Out of the address bar and the history once read (it is a one-time secret).
  if (token) history.replaceState(null, '', location.pathname);
  if (!route) return show('Unknown page.', true);
  if (!token) return show('This link has no token. Open the link from the mail again.', true);
  route(token);
}

start();
