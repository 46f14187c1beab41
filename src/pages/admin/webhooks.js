// Webhooks (caps webhooks:read / webhooks:write): endpoints, their secret shown once, and their
// deliveries with redelivery. A server without webhooks answers "Not available on this server".
import { useState } from '/admin/vendor/hooks.mjs';
import { gql } from '/admin/api.js';
import { ConfirmButton, Done, Empty, ErrorNote, Field, html, list, Loading, Pager, Title, useAction, useQuery, usePager, when } from '/admin/ui.js';

const FIELDS = 'id url description events enabled disabledReason createdAt updatedAt';
const WEBHOOKS = `query Webhooks { webhooks { ${FIELDS} } }`;
const CREATE = `mutation CreateWebhook($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { ${FIELDS} } } }`;
const UPDATE = `mutation UpdateWebhook($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(id: $id, input: $input) { ${FIELDS} } }`;
const ROTATE = 'mutation Rotate($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { id } } }';
const DELIVERY = 'id webhookId eventId eventType status attempts lastAttemptAt nextAttemptAt responseStatus createdAt';
const DELIVERIES = `query Deliveries($id: ID!, $status: WebhookDeliveryStatus, $first: Int, $after: String) {
  webhook(id: $id) { ${FIELDS} }
  webhookDeliveries(webhookId: $id, status: $status, first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { ${DELIVERY} } }
}`;

/** The signing secret, once: it cannot be read again. `shown` is { label, url, secret }, naming the webhook it signs for. */
const Secret = ({ shown }) =>
  shown
    ? html`<p role="status" class="note">${shown.label} for ${shown.url} (shown once, store it now): <code class="secret">${shown.secret}</code></p>`
    : null;

function CreateForm({ onCreated }) {
  const action = useAction();
  const [secret, setSecret] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const input = { url: String(form.get('url')).trim(), events: list(form.get('events')), description: String(form.get('description')).trim() || null };
    const created = await action.run(() => gql(CREATE, { input }), 'Webhook created.');
    if (created) {
      setSecret({ label: 'Signing secret', url: created.createWebhook.webhook.url, secret: created.createWebhook.secret });
      event.target.reset();
      onCreated();
    }
  };
  return html`<form onSubmit=${submit} aria-labelledby="new-webhook">
    <h2 id="new-webhook">New webhook</h2>
    <${Field} id="webhook-url" label="URL"><input id="webhook-url" name="url" type="url" required placeholder="https://example.com/hooks" /><//>
    <${Field} id="webhook-events" label="Events" hint="Audit actions, exact or by prefix (user.*); empty for every event">
      <input id="webhook-events" name="events" placeholder="user.login, user.*" />
    <//>
    <${Field} id="webhook-description" label="Description"><input id="webhook-description" name="description" /><//>
    <button type="submit" disabled=${action.busy}>Create webhook</button>
    <${ErrorNote} error=${action.error} />
    <${Secret} shown=${secret} />
  </form>`;
}

function Row({ hook, onChanged, action, setSecret }) {
  const run = (query, variables, message) => action.run(() => gql(query, variables).then((r) => (onChanged(), r)), message);
  return html`<tr>
    <td><a href=${`#/webhooks/${encodeURIComponent(hook.id)}`}>${hook.url}</a><br /><small>${hook.description ?? ''}</small></td>
    <td>${hook.events.length ? hook.events.join(', ') : 'every event'}</td>
    <td>${hook.enabled ? 'enabled' : html`<span class="badge bad">disabled</span> ${hook.disabledReason ?? ''}`}</td>
    <td><div class="row">
      <button type="button" onClick=${() => run(UPDATE, { id: hook.id, input: { enabled: !hook.enabled } }, hook.enabled ? 'Disabled.' : 'Enabled.')}>
        ${hook.enabled ? 'Disable' : 'Enable'}
      </button>
      <button type="button" onClick=${() => run('mutation P($id: ID!) { pingWebhook(id: $id) { id } }', { id: hook.id }, 'Ping queued.')}>Ping</button>
      <${ConfirmButton} label="Rotate secret" question="Make a new signing secret? The old one keeps signing beside it for 24 hours." confirmLabel="Rotate"
        onConfirm=${async () => {
          const rotated = (await run(ROTATE, { id: hook.id }, 'Secret rotated.'))?.rotateWebhookSecret.secret;
          setSecret(rotated ? { label: 'New signing secret', url: hook.url, secret: rotated } : null);
        }} />
      <${ConfirmButton} label="Delete" question=${`Delete the webhook to ${hook.url}?`} confirmLabel="Delete" danger
        onConfirm=${() => run('mutation D($id: ID!) { deleteWebhook(id: $id) }', { id: hook.id }, 'Webhook deleted.')} />
    </div></td>
  </tr>`;
}

export function WebhooksPage() {
  const { data, error, loading, reload } = useQuery(WEBHOOKS, {}, []);
  const action = useAction();
  const [secret, setSecret] = useState(null);
  const hooks = data?.webhooks;
  return html`<section>
    <${Title}>Webhooks<//>
    <${ErrorNote} error=${error} />
    ${loading && html`<${Loading} />`}
    ${
      hooks &&
      (hooks.length === 0
        ? html`<${Empty}>No webhooks yet.<//>`
        : html`<div class="table" tabindex="0"><table>
            <caption class="visually-hidden">Webhooks</caption>
            <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
            <tbody>${hooks.map((hook) => html`<${Row} key=${hook.id} hook=${hook} onChanged=${reload} action=${action} setSecret=${setSecret} />`)}</tbody>
          </table></div>`)
    }
    <${ErrorNote} error=${action.error} />
    <${Done} message=${action.done} />
    <${Secret} shown=${secret} />
    ${hooks && html`<${CreateForm} onCreated=${reload} />`}
  </section>`;
}

export function DeliveriesPage({ id }) {
  const [status, setStatus] = useState('');
  const pager = usePager();
  const { data, error, loading, reload } = useQuery(DELIVERIES, { id, status: status || null, first: 25, after: pager.after }, [id, status, pager.after]);
  const action = useAction();
  const page = data?.webhookDeliveries;
  const redeliver = (deliveryId) =>
    action.run(() => gql('mutation R($d: ID!) { redeliverWebhook(deliveryId: $d) { id } }', { d: deliveryId }).then(reload), 'Queued again.');
  // Deliveries change in the background, and reloading the document would sign the console out: Refresh asks again.
  return html`<section>
    <p><a href="#/webhooks">← Webhooks</a></p>
    <${Title}>Deliveries${data?.webhook ? ` to ${data.webhook.url}` : ''}<//>
    <div class="filters">
      <${Field} id="delivery-status" label="Status">
        <select id="delivery-status" value=${status} onChange=${(e) => (setStatus(e.target.value), pager.reset())}>
          <option value="">Any status</option><option value="PENDING">Pending</option><option value="SUCCEEDED">Succeeded</option><option value="FAILED">Failed</option>
        </select>
      <//>
      <button type="button" onClick=${reload} disabled=${loading}>Refresh</button>
    </div>
    <${ErrorNote} error=${error} />
    ${loading && html`<${Loading} />`}
    ${
      page &&
      (page.nodes.length === 0
        ? html`<${Empty}>No deliveries.<//>`
        : html`<div class="table" tabindex="0"><table>
            <caption class="visually-hidden">Deliveries</caption>
            <thead><tr><th scope="col">Created</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Response</th><th scope="col">Next attempt</th><th scope="col">Actions</th></tr></thead>
            <tbody>${page.nodes.map(
              (d) => html`<tr><td>${when(d.createdAt)}</td><td><code>${d.eventType}</code></td><td>${d.status.toLowerCase()}</td><td>${d.attempts}</td>
                <td>${d.responseStatus ?? '—'}</td><td>${when(d.nextAttemptAt)}</td><td><button type="button" onClick=${() => redeliver(d.id)}>Redeliver</button></td></tr>`,
            )}</tbody>
          </table></div>`)
    }
    ${page && html`<${Pager} pager=${pager} pageInfo=${page.pageInfo} />`}
    <${ErrorNote} error=${action.error} />
    <${Done} message=${action.done} />
  </section>`;
}
