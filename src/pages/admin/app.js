// The admin console: a single page over the public GraphQL API (README "Admin console").
// Routes live in the hash (#/users/…), so the server serves one document for all of them.
import { render } from '/admin/vendor/preact.mjs';
import { useEffect, useState } from '/admin/vendor/hooks.mjs';
import { currentUser, onSessionChange, signOut } from '/admin/api.js';
import { AnalyticsPage } from '/admin/analytics.js';
import { AuditPage } from '/admin/audit.js';
import { ProvidersPage } from '/admin/providers.js';
import { RolesPage } from '/admin/roles.js';
import { SignIn } from '/admin/signin.js';
import { html } from '/admin/ui.js';
import { UserPage } from '/admin/user.js';
import { UsersPage } from '/admin/users.js';
import { DeliveriesPage, WebhooksPage } from '/admin/webhooks.js';

const NAV = [
  ['users', 'Users'],
  ['roles', 'Roles'],
  ['audit', 'Audit'],
  ['analytics', 'Analytics'],
  ['webhooks', 'Webhooks'],
  ['providers', 'Providers'],
];

function useRoute() {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

function Page({ route }) {
  const [section = 'users', id] = route;
  switch (section) {
    case 'users':
      return id ? html`<${UserPage} id=${id} key=${id} />` : html`<${UsersPage} />`;
    case 'roles':
      return html`<${RolesPage} />`;
    case 'audit':
      return html`<${AuditPage} />`;
    case 'analytics':
      return html`<${AnalyticsPage} />`;
    case 'webhooks':
      return id ? html`<${DeliveriesPage} id=${id} key=${id} />` : html`<${WebhooksPage} />`;
    case 'providers':
      return html`<${ProvidersPage} />`;
    default:
      return html`<h1>Not found</h1><p>No page at this address. <a href="#/users">Users</a></p>`;
  }
}

function Shell({ user, route }) {
  const section = route[0] ?? 'users';
  return html`<div class="shell">
    <header>
      <span class="brand">Admin console</span>
      <nav aria-label="Main">
        <ul>
          ${NAV.map(([path, label]) => html`<li><a href=${`#/${path}`} aria-current=${section === path ? 'page' : undefined}>${label}</a></li>`)}
        </ul>
      </nav>
      <span class="who">${user.email}</span>
      <button type="button" onClick=${() => signOut()}>Sign out</button>
    </header>
    <main tabindex="-1"><${Page} route=${route} /></main>
  </div>`;
}

function App() {
  const [user, setUser] = useState(currentUser);
  const [notice, setNotice] = useState(null);
  const route = useRoute();
  useEffect(
    () =>
      onSessionChange((reason) => {
        setUser(currentUser());
        setNotice(reason);
      }),
    [],
  );
  if (!user) return html`<${SignIn} notice=${notice} />`;
  return html`<${Shell} user=${user} route=${route} />`;
}

render(html`<${App} />`, document.getElementById('root'));
