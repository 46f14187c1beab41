// Roles and their caps: list, create or change (upsertRole), delete. The server refuses a role
// with a cap the admin does not hold (least privilege), and the refusal is shown.
import { useState } from '/admin/vendor/hooks.mjs';
import { currentUser, gql } from '/admin/api.js';
import { ConfirmButton, Done, Empty, ErrorNote, Field, html, Loading, Title, useAction, useQuery } from '/admin/ui.js';

const ROLES = '{ roles { name description caps builtin } }';
const UPSERT =
  'mutation Upsert($name: String!, $caps: [String!]!, $description: String) { upsertRole(name: $name, caps: $caps, description: $description) { name } }';

/** Initial values only (defaultValue, defaultChecked), so a refused save keeps what the admin typed; the key starts it afresh per role. */
function RoleForm({ allCaps, editing, onSaved }) {
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const input = { name: String(form.get('name')).trim(), description: String(form.get('description')).trim() || null, caps: form.getAll('caps') };
    const element = event.target;
    void action.run(() => gql(UPSERT, input).then(() => (element.reset(), onSaved())), `Role ${input.name} saved.`);
  };
  return html`<form onSubmit=${submit} aria-labelledby="role-form-title" key=${editing?.name ?? 'new'}>
    <h2 id="role-form-title">${editing ? `Change role ${editing.name}` : 'New role'}</h2>
    <${Field} id="role-name" label="Name"><input id="role-name" name="name" required defaultValue=${editing?.name ?? ''} readonly=${!!editing} /><//>
    <${Field} id="role-description" label="Description"><input id="role-description" name="description" defaultValue=${editing?.description ?? ''} /><//>
    <fieldset>
      <legend>Caps</legend>
      ${allCaps.map(
        (cap) =>
          html`<label class="check"><input type="checkbox" name="caps" value=${cap} defaultChecked=${editing?.caps.includes(cap) ?? false} /> <code>${cap}</code></label>`,
      )}
    </fieldset>
    <button type="submit" disabled=${action.busy}>Save role</button>
    <${ErrorNote} error=${action.error} />
    <${Done} message=${action.done} />
  </form>`;
}

export function RolesPage() {
  const { data, error, loading, reload } = useQuery(ROLES, {}, []);
  const [editing, setEditing] = useState(null);
  const remove = useAction();
  const roles = data?.roles ?? [];
  // Every cap the server knows of appears in some role (admin holds them all) or in the admin's own.
  const allCaps = [...new Set([...roles.flatMap((r) => r.caps), ...(currentUser()?.caps ?? [])])].sort();
  return html`<section>
    <${Title}>Roles<//>
    <${ErrorNote} error=${error} />
    ${loading && !data && html`<${Loading} />`}
    ${
      data &&
      (roles.length === 0
        ? html`<${Empty}>No roles.<//>`
        : html`<div class="table" tabindex="0"><table>
            <caption class="visually-hidden">Roles</caption>
            <thead><tr><th scope="col">Role</th><th scope="col">Description</th><th scope="col">Caps</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              ${roles.map(
                (r) => html`<tr>
                  <td>${r.name}${r.builtin ? html` <span class="badge">built-in</span>` : null}</td>
                  <td>${r.description ?? ''}</td>
                  <td>${r.caps.map((c) => html`<code class="cap">${c}</code> `)}</td>
                  <td>${
                    r.builtin
                      ? null
                      : html`<button type="button" onClick=${() => setEditing(r)}>Change ${r.name}</button>
                          <${ConfirmButton} label=${`Delete ${r.name}`} question=${`Delete the role ${r.name}? Its users lose its caps.`} confirmLabel="Delete" danger
                            onConfirm=${() => remove.run(() => gql('mutation D($n: String!) { deleteRole(name: $n) }', { n: r.name }).then(reload), 'Role deleted.')} />`
                  }</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`)
    }
    <${ErrorNote} error=${remove.error} />
    <${Done} message=${remove.done} />
    ${editing && html`<button type="button" onClick=${() => setEditing(null)}>New role instead</button>`}
    <${RoleForm} allCaps=${allCaps} editing=${editing} onSaved=${() => (setEditing(null), reload())} />
  </section>`;
}
