// Users: search, role and status filters, pages of 25, and the total matching.
import { useState } from '/admin/vendor/hooks.mjs';
import { Empty, ErrorNote, Field, html, Loading, Pager, Title, useQuery, usePager, when } from '/admin/ui.js';

const USERS = `query Users($filter: UserFilter, $first: Int, $after: String) {
  users(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id email name roles disabled mfaEnabled emailVerified createdAt lastLoginAt }
  }
}`;

const PAGE_SIZE = 25;

function Filters({ onChange }) {
  const roles = useQuery('{ roles { name } }', {}, []);
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const disabled = form.get('status');
    onChange({
      search: String(form.get('search')).trim() || undefined,
      role: form.get('role') || undefined,
      disabled: disabled === '' ? undefined : disabled === 'disabled',
    });
  };
  return html`<form class="filters" role="search" onSubmit=${submit}>
    <${Field} id="search" label="Search"><input id="search" name="search" type="search" placeholder="Email or name" /><//>
    <${Field} id="role" label="Role">
      <select id="role" name="role">
        <option value="">Any role</option>
        ${(roles.data?.roles ?? []).map((r) => html`<option value=${r.name}>${r.name}</option>`)}
      </select>
    <//>
    <${Field} id="status" label="Status">
      <select id="status" name="status">
        <option value="">Any status</option>
        <option value="enabled">Enabled</option>
        <option value="disabled">Disabled</option>
      </select>
    <//>
    <button type="submit">Apply</button>
  </form>`;
}

export function UsersPage() {
  const [filter, setFilter] = useState({});
  const pager = usePager();
  const key = JSON.stringify(filter);
  const { data, error, loading } = useQuery(USERS, { filter, first: PAGE_SIZE, after: pager.after }, [key, pager.after]);
  const users = data?.users;
  return html`<section>
    <${Title}>Users<//>
    <${Filters} onChange=${(f) => (setFilter(f), pager.reset())} />
    <${ErrorNote} error=${error} />
    ${loading && html`<${Loading} />`}
    ${
      users &&
      html`<p role="status">${users.totalCount} ${users.totalCount === 1 ? 'user' : 'users'}</p>
        ${
          users.nodes.length === 0
            ? html`<${Empty}>No users match.<//>`
            : html`<div class="table" tabindex="0"><table>
                <caption class="visually-hidden">Users</caption>
                <thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Roles</th><th scope="col">MFA</th><th scope="col">Status</th><th scope="col">Signed up</th><th scope="col">Last sign-in</th></tr></thead>
                <tbody>
                  ${users.nodes.map(
                    (u) => html`<tr>
                      <td><a href=${`#/users/${encodeURIComponent(u.id)}`}>${u.email}</a></td>
                      <td>${u.name ?? ''}</td>
                      <td>${u.roles.join(', ')}</td>
                      <td>${u.mfaEnabled ? 'on' : 'off'}</td>
                      <td>${u.disabled ? html`<span class="badge bad">disabled</span>` : 'enabled'}</td>
                      <td>${when(u.createdAt)}</td>
                      <td>${when(u.lastLoginAt)}</td>
                    </tr>`,
                  )}
                </tbody>
              </table></div>`
        }
        <${Pager} pager=${pager} pageInfo=${users.pageInfo} />`
    }
  </section>`;
}
