// OAuth / OIDC providers (caps providers:read / providers:write). The client secret is
// write-only: the form sends it, the API never returns it.
import { useState } from '/admin/vendor/hooks.mjs';
import { gql } from '/admin/api.js';
import { ConfirmButton, Done, Empty, ErrorNote, Field, html, list, Loading, Title, useAction, useQuery, when } from '/admin/ui.js';

const FIELDS = 'name displayName issuer authorizationEndpoint tokenEndpoint userinfoEndpoint clientId scopes enabled linkByEmail createdAt updatedAt';
const PROVIDERS = `query Providers { oauthProviderConfigs { ${FIELDS} } }`;
const UPSERT = `mutation UpsertProvider($input: OAuthProviderInput!) { upsertOAuthProvider(input: $input) { ${FIELDS} } }`;

const text = (form, name) => String(form.get(name) ?? '').trim() || null;

function ProviderForm({ editing, onSaved }) {
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const input = {
      name: text(form, 'name'),
      displayName: text(form, 'displayName'),
      issuer: text(form, 'issuer'),
      authorizationEndpoint: text(form, 'authorizationEndpoint'),
      tokenEndpoint: text(form, 'tokenEndpoint'),
      userinfoEndpoint: text(form, 'userinfoEndpoint'),
      clientId: text(form, 'clientId'),
      scopes: list(form.get('scopes')),
      enabled: form.get('enabled') === 'on',
      linkByEmail: form.get('linkByEmail') === 'on',
    };
    // Omitted on update keeps the stored secret.
    const secret = text(form, 'clientSecret');
    if (secret) input.clientSecret = secret;
    const element = event.target;
    void action.run(() => gql(UPSERT, { input }).then(() => (element.reset(), onSaved())), `Provider ${input.name} saved.`);
  };
  // An OIDC provider's endpoints come from its discovery document (the API returns those): they
  // are not offered for editing, since the API takes an issuer or endpoints, not both.
  const v = editing?.issuer ? { ...editing, authorizationEndpoint: null, tokenEndpoint: null, userinfoEndpoint: null } : (editing ?? {});
  // Initial values only (defaultValue, defaultChecked): a `value` or `checked` prop would put the
  // stored values back at every render, undoing what the admin typed when a save is refused. The
  // form's key starts it afresh for another provider.
  const input = (name, label, extra = {}) =>
    html`<${Field} id=${`p-${name}`} label=${label} hint=${extra.hint}><input id=${`p-${name}`} name=${name} defaultValue=${v[name] ?? ''} ...${extra.attrs ?? {}} /><//>`;
  return html`<form onSubmit=${submit} aria-labelledby="provider-form" key=${v.name ?? 'new'}>
    <h2 id="provider-form">${editing ? `Change ${v.name}` : 'New provider'}</h2>
    ${input('name', 'Name', { attrs: { required: true, readonly: !!editing }, hint: 'As in /oauth/:name' })}
    ${input('displayName', 'Display name')}
    ${input('issuer', 'Issuer', { hint: 'OIDC: the endpoints come from its discovery document' })}
    ${input('authorizationEndpoint', 'Authorization endpoint', { hint: 'Plain OAuth 2.0 only' })}
    ${input('tokenEndpoint', 'Token endpoint')}
    ${input('userinfoEndpoint', 'Userinfo endpoint')}
    ${input('clientId', 'Client id', { attrs: { required: true } })}
    <${Field} id="p-clientSecret" label="Client secret" hint=${editing ? 'Leave empty to keep the stored one' : undefined}>
      <input id="p-clientSecret" name="clientSecret" type="password" autocomplete="off" />
    <//>
    <${Field} id="p-scopes" label="Scopes"><input id="p-scopes" name="scopes" defaultValue=${(v.scopes ?? ['openid', 'email', 'profile']).join(', ')} /><//>
    <label class="check"><input type="checkbox" name="enabled" defaultChecked=${v.enabled ?? true} /> Enabled</label>
    <label class="check"><input type="checkbox" name="linkByEmail" defaultChecked=${v.linkByEmail ?? false} /> Link by verified email</label>
    <button type="submit" disabled=${action.busy}>Save provider</button>
    <${ErrorNote} error=${action.error} />
    <${Done} message=${action.done} />
  </form>`;
}

export function ProvidersPage() {
  const { data, error, loading, reload } = useQuery(PROVIDERS, {}, []);
  const [editing, setEditing] = useState(null);
  const remove = useAction();
  const providers = data?.oauthProviderConfigs;
  return html`<section>
    <${Title}>Providers<//>
    <${ErrorNote} error=${error} />
    ${loading && html`<${Loading} />`}
    ${
      providers &&
      (providers.length === 0
        ? html`<${Empty}>No providers yet.<//>`
        : html`<div class="table" tabindex="0"><table>
            <caption class="visually-hidden">Providers</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Client id</th><th scope="col">Status</th><th scope="col">Updated</th><th scope="col">Actions</th></tr></thead>
            <tbody>${providers.map(
              (p) => html`<tr>
                <td>${p.displayName} <small>(${p.name})</small></td>
                <td>${p.issuer ? `OIDC: ${p.issuer}` : 'OAuth 2.0'}</td>
                <td><code>${p.clientId}</code></td>
                <td>${p.enabled ? 'enabled' : 'disabled'}${p.linkByEmail ? ', links by email' : ''}</td>
                <td>${when(p.updatedAt)}</td>
                <td><div class="row">
                  <button type="button" onClick=${() => setEditing(p)}>Change ${p.name}</button>
                  <${ConfirmButton} label=${`Delete ${p.name}`} question=${`Delete ${p.displayName}? Its linked identities stay, unusable, until it is added again.`}
                    confirmLabel="Delete" danger onConfirm=${() => remove.run(() => gql('mutation D($n: String!) { deleteOAuthProvider(name: $n) }', { n: p.name }).then(reload), 'Deleted.')} />
                </div></td>
              </tr>`,
            )}</tbody>
          </table></div>`)
    }
    <${ErrorNote} error=${remove.error} />
    <${Done} message=${remove.done} />
    ${providers && html`<${ProviderForm} editing=${editing} onSaved=${() => (setEditing(null), reload())} />`}
  </section>`;
}
