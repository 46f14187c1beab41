// One user: profile, roles and caps, sessions, identities, passkeys, MFA, and the admin actions.
// Every action is an API call the server authorizes; a refusal (least privilege) is shown as is.
import { useState } from '/admin/vendor/hooks.mjs';
import { ApiError, currentUser, gql, isUnavailable } from '/admin/api.js';
import { ConfirmButton, Done, ErrorNote, Field, html, Loading, Title, useAction, useQuery, when } from '/admin/ui.js';

const USER = `query User($id: ID!) {
  user(id: $id) {
    id email emailVerified name firstName lastName phone phoneVerified language roles caps
    mfaEnabled mfaMethods defaultMfaMethod disabled createdAt updatedAt lastLoginAt
  }
}`;
// Asked separately: a server without OAuth or passkeys refuses these fields, not the page.
const IDENTITIES = 'query Identities($id: ID!) { user(id: $id) { id identities { id provider subject email createdAt lastUsedAt } } }';
const PASSKEYS = 'query Passkeys($id: ID!) { user(id: $id) { id passkeys { id name createdAt lastUsedAt backedUp } } }';
const START_PASSKEY = 'mutation StartPasskey { startPasskeyRegistration }';
const FINISH_PASSKEY = 'mutation FinishPasskey($response: JSON!, $name: String) { finishPasskeyRegistration(response: $response, name: $name) { id } }';
const DELETE_PASSKEY = 'mutation DeletePasskey($id: ID!) { deletePasskey(id: $id) }';
const UPDATE = 'mutation UpdateUser($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }';

function Roles({ user, onSaved }) {
  const action = useAction();
  // Without roles:read the choice is the roles the user has.
  const known = useQuery('{ roles { name description } }', {}, []);
  const roles = known.data?.roles ?? user.roles.map((name) => ({ name }));
  const [chosen, setChosen] = useState(new Set(user.roles));
  const toggle = (name) => setChosen((s) => (s.has(name) ? (s.delete(name), new Set(s)) : new Set(s.add(name))));
  const save = () => action.run(() => gql(UPDATE, { id: user.id, input: { roles: [...chosen] } }).then(onSaved), 'Roles saved.');
  return html`<section aria-labelledby="roles-title">
    <h2 id="roles-title">Roles and caps</h2>
    <fieldset>
      <legend>Roles</legend>
      ${roles.map(
        (r) => html`<label class="check">
          <input type="checkbox" checked=${chosen.has(r.name)} disabled=${r.name === 'user'} onChange=${() => toggle(r.name)} />
          ${r.name}${r.description ? html` <small>${r.description}</small>` : null}
        </label>`,
      )}
    </fieldset>
    <button type="button" disabled=${action.busy} onClick=${save}>Save roles</button>
    <${ErrorNote} error=${action.error} />
    <${Done} message=${action.done} />
    <p>Effective caps: ${user.caps.length ? user.caps.map((c) => html`<code class="cap">${c}</code> `) : 'none'}</p>
  </section>`;
}

/** Only a user's own sessions are listed by the API; others' can be ended all at once. */
function Sessions({ user }) {
  const own = currentUser()?.id === user.id;
  const mine = useQuery(own ? '{ mySessions { id createdAt lastSeenAt ip userAgent current } }' : '{ __typename }', {}, [own]);
  const action = useAction();
  const revokeAll = () => action.run(() => gql('mutation Revoke($id: ID!) { revokeUserSessions(id: $id) }', { id: user.id }), 'Every session ended.');
  const revokeOne = (id) => action.run(() => gql('mutation RevokeOne($id: ID!) { revokeSession(id: $id) }', { id }).then(mine.reload), 'Session ended.');
  return html`<section aria-labelledby="sessions-title">
    <h2 id="sessions-title">Sessions</h2>
    ${
      own && mine.data
        ? html`<ul class="plain">
            ${mine.data.mySessions.map(
              (s) =>
                html`<li>${when(s.lastSeenAt)} · ${s.ip ?? 'unknown IP'} · ${s.userAgent ?? ''} ${
                  s.current ? html`<strong>(this console)</strong>` : html`<button type="button" onClick=${() => revokeOne(s.id)}>Revoke</button>`
                }</li>`,
            )}
          </ul>`
        : html`<p class="muted">The API lists sessions to their own user only; end them all here.</p>`
    }
    <${ConfirmButton} label="Revoke all sessions" question=${`End every session of ${user.email}?`} confirmLabel="Revoke" onConfirm=${revokeAll} />
    <${ErrorNote} error=${action.error} />
    <${Done} message=${action.done} />
  </section>`;
}

function Optional({ title, query, id, field, render }) {
  const { data, error, loading } = useQuery(query, { id }, [id]);
  const items = data?.user?.[field];
  return html`<section aria-label=${title}>
    <h2>${title}</h2>
    ${loading && html`<${Loading} />`}
    ${error && (isUnavailable(error) ? html`<p class="note">Not available on this server.</p>` : html`<${ErrorNote} error=${error} />`)}
    ${items && (items.length ? html`<ul class="plain">${items.map(render)}</ul>` : html`<p class="empty">None.</p>`)}
  </section>`;
}

/** navigator.credentials.create with the server's options JSON (WebAuthn Level 3 JSON helpers). */
async function passkeyCreation(options) {
  if (!window.PublicKeyCredential?.parseCreationOptionsFromJSON) throw new ApiError('This browser cannot create passkeys here.', 'BAD_USER_INPUT');
  try {
    const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
    return credential.toJSON();
  } catch (e) {
    const reason =
      e.name === 'NotAllowedError'
        ? 'cancelled or timed out'
        : e.name === 'InvalidStateError'
          ? 'this device already holds a passkey of this account'
          : e.message;
    throw new ApiError(`No passkey was made (${reason}).`, e.name ?? 'NotAllowedError');
  }
}

/**
 * Passkeys. The API registers and deletes only the caller's own (a passkey is made on the
 * admin's own device), so those controls are on the admin's own page; others' are listed.
 */
function Passkeys({ id, onChanged }) {
  const own = currentUser()?.id === id;
  const { data, error, loading, reload } = useQuery(PASSKEYS, { id }, [id]);
  const action = useAction();
  const passkeys = data?.user?.passkeys;
  const changed = () => (reload(), onChanged());
  const add = (event) => {
    event.preventDefault();
    const name = String(new FormData(event.target).get('name')).trim() || null;
    void action.run(async () => {
      const options = (await gql(START_PASSKEY)).startPasskeyRegistration;
      await gql(FINISH_PASSKEY, { response: await passkeyCreation(options), name });
      event.target.reset();
      changed();
    }, 'Passkey added.');
  };
  const remove = (passkey) => action.run(() => gql(DELETE_PASSKEY, { id: passkey.id }).then(changed), 'Passkey deleted.');
  return html`<section aria-labelledby="passkeys-title">
    <h2 id="passkeys-title">Passkeys</h2>
    ${loading && !data && html`<${Loading} />`}
    ${error && (isUnavailable(error) ? html`<p class="note">Not available on this server.</p>` : html`<${ErrorNote} error=${error} />`)}
    ${
      passkeys &&
      (passkeys.length
        ? html`<ul class="plain">${passkeys.map(
            (p) => html`<li>${p.name ?? 'Passkey'} · added ${when(p.createdAt)} · last used ${when(p.lastUsedAt)}
              ${
                own &&
                html`<${ConfirmButton} label=${`Delete ${p.name ?? 'passkey'}`} question=${`Delete the passkey ${p.name ?? ''}? It no longer signs in.`}
                confirmLabel="Delete" danger onConfirm=${() => remove(p)} />`
              }</li>`,
          )}</ul>`
        : html`<p class="empty">None.</p>`)
    }
    ${
      own &&
      passkeys &&
      html`<form onSubmit=${add} aria-label="Add a passkey">
        <${Field} id="passkey-name" label="Passkey name" hint="Needs a sign-in within the last 5 minutes"><input id="passkey-name" name="name" maxlength="100" placeholder="Work laptop" /><//>
        <button type="submit" disabled=${action.busy}>Add a passkey</button>
      </form>`
    }
    <${ErrorNote} error=${action.error} />
    <${Done} message=${action.done} />
  </section>`;
}

function Actions({ user, onChanged }) {
  const action = useAction();
  const run = (label, query, variables, after = onChanged) => action.run(() => gql(query, variables).then(after), label);
  const id = user.id;
  return html`<section aria-labelledby="actions-title">
    <h2 id="actions-title">Account</h2>
    <div class="row wrap">
      ${
        user.disabled
          ? html`<button type="button" onClick=${() => run('Enabled.', UPDATE, { id, input: { disabled: false } })}>Enable user</button>`
          : html`<${ConfirmButton} label="Disable user" question=${`Disable ${user.email}? Every session ends at once.`} confirmLabel="Disable" danger
              onConfirm=${() => run('Disabled: every session ended.', UPDATE, { id, input: { disabled: true } })} />`
      }
      <button type="button" onClick=${() => run('Unlocked: failed sign-ins cleared.', 'mutation U($id: ID!) { unlockUser(id: $id) }', { id })}>Unlock</button>
      <${ConfirmButton} label="Reset MFA" question=${`Turn off every second factor of ${user.email}?`} confirmLabel="Reset"
        onConfirm=${() => run('MFA reset.', 'mutation R($id: ID!) { resetUserMfa(id: $id) { id } }', { id })} />
      <${ConfirmButton} label="Delete user" question=${`Delete ${user.email} for good? This cannot be undone.`} confirmLabel="Delete" danger
        onConfirm=${() => run('Deleted.', 'mutation D($id: ID!) { deleteUser(id: $id) }', { id }, () => (location.hash = '#/users'))} />
    </div>
    <${ErrorNote} error=${action.error} />
    <${Done} message=${action.done} />
  </section>`;
}

export function UserPage({ id }) {
  const { data, error, loading, reload } = useQuery(USER, { id }, [id]);
  const user = data?.user;
  if (loading && !data) return html`<${Loading} />`;
  if (error) return html`<${Title}>User<//><${ErrorNote} error=${error} />`;
  if (!user) return html`<${Title}>User<//><p class="empty">No such user.</p>`;
  return html`<article>
    <p><a href="#/users">← Users</a></p>
    <${Title}>${user.email}<//>
    ${user.disabled && html`<p class="badge bad">Disabled</p>`}
    <dl class="facts">
      <dt>Name</dt><dd>${user.name ?? '—'}</dd>
      <dt>Email verified</dt><dd>${user.emailVerified ? 'yes' : 'no'}</dd>
      <dt>Phone</dt><dd>${user.phone ?? '—'}${user.phone ? (user.phoneVerified ? ' (verified)' : ' (unverified)') : ''}</dd>
      <dt>Signed up</dt><dd>${when(user.createdAt)}</dd>
      <dt>Last sign-in</dt><dd>${when(user.lastLoginAt)}</dd>
      <dt>MFA</dt><dd>${user.mfaEnabled ? user.mfaMethods.join(', ') : 'off'}</dd>
    </dl>
    <div class="grid">
      <${Actions} user=${user} onChanged=${reload} />
      <${Roles} user=${user} onSaved=${reload} />
      <${Sessions} user=${user} />
      <${Optional} title="Identities" query=${IDENTITIES} id=${id} field="identities"
        render=${(i) => html`<li>${i.provider} · ${i.email ?? i.subject} · linked ${when(i.createdAt)}</li>`} />
      <${Passkeys} id=${id} onChanged=${reload} />
    </div>
  </article>`;
}
