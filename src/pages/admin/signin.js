// Sign-in: password, then the second factor with the pending token (README "Multi-factor
// authentication"); passkeys and OAuth providers when the server has them.
import { useEffect, useState } from '/admin/vendor/hooks.mjs';
import { AUTH_FIELDS, ApiError, gqlWith, startSession } from '/admin/api.js';
import { ErrorNote, Field, html } from '/admin/ui.js';

const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
const VERIFY = `mutation Verify($input: Verify2faInput!) { verify2fa(input: $input) { ${AUTH_FIELDS} } }`;
const SEND = 'mutation Send($method: MfaMethod!) { sendMfaCode(method: $method) }';
const FINISH_OAUTH = `mutation FinishOAuth($code: String!) { finishOAuth(code: $code) { ${AUTH_FIELDS} } }`;
const PASSKEY_START = 'mutation StartPasskey($email: String) { startPasskeyLogin(email: $email) }';
const PASSKEY_FINISH = `mutation FinishPasskey($response: JSON!) { finishPasskeyLogin(response: $response) { ${AUTH_FIELDS} } }`;

const METHOD_NAMES = { TOTP: 'Authenticator app', SMS: 'Text message', EMAIL: 'Email code', RECOVERY_CODE: 'Recovery code', PASSKEY: 'Passkey' };

/** navigator.credentials.get with the server's options JSON (WebAuthn Level 3 JSON helpers). */
async function passkeyAssertion(options) {
  if (!window.PublicKeyCredential?.parseRequestOptionsFromJSON) throw new ApiError('This browser cannot use passkeys here.', 'BAD_USER_INPUT');
  try {
    const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
    return credential.toJSON();
  } catch (e) {
    // A DOMException's `code` is a legacy number (0 for NotAllowedError): show its name, and what it means here.
    const reason = e.name === 'NotAllowedError' ? 'cancelled, timed out, or no passkey of this account on this device' : e.message;
    throw new ApiError(`No passkey was used (${reason}).`, e.name ?? 'NotAllowedError');
  }
}

function Providers({ onError }) {
  const [providers, setProviders] = useState([]);
  useEffect(() => {
    // A server without OAuth answers GRAPHQL_VALIDATION_FAILED: then there is nothing to list.
    gqlWith(null, '{ oauthProviders { name displayName } }').then(
      (data) => setProviders(data.oauthProviders),
      () => setProviders([]),
    );
  }, []);
  if (!providers.length) return null;
  const back = encodeURIComponent(`${location.origin}/admin`);
  return html`<div class="providers">
    <p>Or sign in with</p>
    ${providers.map((p) => html`<a class="button" href=${`/oauth/${encodeURIComponent(p.name)}?redirectTo=${back}`} onClick=${() => onError(null)}>${p.displayName}</a>`)}
  </div>`;
}

function SecondFactor({ pending, onDone, onCancel }) {
  const methods = pending.mfaMethods;
  const [method, setMethod] = useState(pending.defaultMfaMethod ?? methods[0]);
  const [error, setError] = useState(null);
  const [sent, setSent] = useState(null);
  const [busy, setBusy] = useState(false);
  // The password step's form is gone: put the keyboard in the code field.
  useEffect(() => {
    document.getElementById('code')?.focus();
  }, [method]);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (method === 'PASSKEY') {
        const options = (await gqlWith(pending.accessToken, PASSKEY_START, {})).startPasskeyLogin;
        const response = await passkeyAssertion(options);
        onDone((await gqlWith(pending.accessToken, PASSKEY_FINISH, { response })).finishPasskeyLogin);
      } else {
        const code = String(new FormData(event.target).get('code')).trim();
        onDone((await gqlWith(pending.accessToken, VERIFY, { input: { method, code } })).verify2fa);
      }
    } catch (e) {
      setError(e);
      if (e.code === 'UNAUTHENTICATED') onCancel('The sign-in expired. Start again.');
    } finally {
      setBusy(false);
    }
  };
  const send = async () => {
    setError(null);
    try {
      await gqlWith(pending.accessToken, SEND, { method });
      setSent(`A code was sent (${METHOD_NAMES[method]}).`);
    } catch (e) {
      setError(e);
    }
  };
  return html`<form onSubmit=${submit} aria-labelledby="mfa-title">
    <h2 id="mfa-title">Second factor</h2>
    <${Field} id="method" label="Method">
      <select id="method" value=${method} onChange=${(e) => setMethod(e.target.value)}>
        ${methods.map((m) => html`<option value=${m}>${METHOD_NAMES[m] ?? m}</option>`)}
      </select>
    <//>
    ${
      method === 'PASSKEY'
        ? null
        : html`<${Field} id="code" label="Code">
            <input id="code" name="code" autocomplete="one-time-code" inputmode=${method === 'RECOVERY_CODE' ? 'text' : 'numeric'} required maxlength="32" />
          <//>`
    }
    ${(method === 'SMS' || method === 'EMAIL') && html`<button type="button" onClick=${send}>Send code</button>`}
    ${sent && html`<p role="status">${sent}</p>`}
    <${ErrorNote} error=${error} />
    <div class="row">
      <button type="submit" disabled=${busy}>Verify</button>
      <button type="button" onClick=${() => onCancel(null)}>Cancel</button>
    </div>
  </form>`;
}

export function SignIn({ notice }) {
  const [pending, setPending] = useState(null);
  const [error, setError] = useState(null);
  const [message, setMessage] = useState(notice);
  const [busy, setBusy] = useState(false);
  const finish = (auth) => (auth.mfaRequired ? setPending(auth) : startSession(auth));
  const attempt = async (work) => {
    setBusy(true);
    setError(null);
    try {
      finish(await work());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  // Back from a provider: the callback put a one-time code (or an error code) on this URL.
  useEffect(() => {
    const params = new URLSearchParams(location.search);
    const code = params.get('code');
    const failed = params.get('error');
    if (!code && !failed) return;
    history.replaceState(null, '', `${location.pathname}${location.hash}`);
    if (failed) setError(new ApiError('The provider sign-in did not succeed.', failed));
    else void attempt(async () => (await gqlWith(null, FINISH_OAUTH, { code })).finishOAuth);
  }, []);
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    void attempt(async () => (await gqlWith(null, LOGIN, { input: { email: form.get('email'), password: form.get('password') } })).login);
  };
  const passkey = (event) => {
    const email = new FormData(event.target.form).get('email') || null;
    void attempt(async () => {
      const options = (await gqlWith(null, PASSKEY_START, { email })).startPasskeyLogin;
      return (await gqlWith(null, PASSKEY_FINISH, { response: await passkeyAssertion(options) })).finishPasskeyLogin;
    });
  };
  return html`<main class="signin">
    <h1>Admin console</h1>
    ${message && html`<p role="status" class="note">${message}</p>`}
    ${
      pending
        ? html`<${SecondFactor} pending=${pending} onDone=${finish} onCancel=${(m) => (setPending(null), setMessage(m))} />`
        : html`<form onSubmit=${submit} aria-labelledby="signin-title">
            <h2 id="signin-title">Sign in</h2>
            <${Field} id="email" label="Email"><input id="email" name="email" type="email" autocomplete="username" required /><//>
            <${Field} id="password" label="Password"><input id="password" name="password" type="password" autocomplete="current-password" required /><//>
            <${ErrorNote} error=${error} />
            <div class="row">
              <button type="submit" disabled=${busy}>Sign in</button>
              <button type="button" onClick=${passkey}>Use a passkey</button>
            </div>
            <${Providers} onError=${setError} />
          </form>`
    }
  </main>`;
}
