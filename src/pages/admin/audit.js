// The audit log (filters, pages) and the live stream (graphql-ws; newest at the top, filter by
// action, pause). Needs audit:read; without it the server answers with the caller's own events.
import { useEffect, useRef, useState } from '/admin/vendor/hooks.mjs';
import { Empty, ErrorNote, Field, html, list, Loading, Pager, Title, useQuery, usePager, when } from '/admin/ui.js';
import { subscribeAudit } from '/admin/live.js';

const LOGS = `query Audit($filter: AuditFilter, $first: Int, $after: String) {
  auditLogs(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id at action outcome actorId userId ip userAgent requestId }
  }
}`;

/** The live list keeps this many events; older ones are in the log above. */
const LIVE_LIMIT = 200;

const Outcome = ({ value }) => html`<span class=${value === 'FAILURE' ? 'badge bad' : 'badge good'}>${value.toLowerCase()}</span>`;
const Who = ({ id }) => (id ? html`<a href=${`#/users/${encodeURIComponent(id)}`}>${id}</a>` : '—');
/** In the table, ids are shortened to their first 8 characters; the full one is the link's title. */
const ShortWho = ({ id }) => (id ? html`<a href=${`#/users/${encodeURIComponent(id)}`} title=${id}>${id.slice(0, 8)}…</a>` : '—');

function Filters({ onChange }) {
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const actions = list(form.get('actions'));
    onChange({
      actions: actions.length ? actions : undefined,
      outcome: form.get('outcome') || undefined,
      userId: String(form.get('userId')).trim() || undefined,
      actorId: String(form.get('actorId')).trim() || undefined,
    });
  };
  return html`<form class="filters" onSubmit=${submit} aria-label="Audit filters">
    <${Field} id="audit-actions" label="Actions"><input id="audit-actions" name="actions" placeholder="user.login, user.login_failed" /><//>
    <${Field} id="audit-outcome" label="Outcome">
      <select id="audit-outcome" name="outcome"><option value="">Any outcome</option><option value="SUCCESS">Success</option><option value="FAILURE">Failure</option></select>
    <//>
    <${Field} id="audit-user" label="User id"><input id="audit-user" name="userId" /><//>
    <${Field} id="audit-actor" label="Actor id"><input id="audit-actor" name="actorId" /><//>
    <button type="submit">Apply</button>
  </form>`;
}

function Log() {
  const [filter, setFilter] = useState({});
  const pager = usePager();
  const { data, error, loading } = useQuery(LOGS, { filter, first: 50, after: pager.after }, [JSON.stringify(filter), pager.after]);
  const page = data?.auditLogs;
  return html`<section aria-labelledby="log-title">
    <h2 id="log-title">Audit log</h2>
    <${Filters} onChange=${(f) => (setFilter(f), pager.reset())} />
    <${ErrorNote} error=${error} />
    ${loading && html`<${Loading} />`}
    ${
      page &&
      (page.nodes.length === 0
        ? html`<${Empty}>No events match.<//>`
        : html`<div class="table" tabindex="0"><table>
            <caption class="visually-hidden">Audit events</caption>
            <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">User</th><th scope="col">Actor</th><th scope="col">IP</th><th scope="col">Request</th></tr></thead>
            <tbody>${page.nodes.map(
              (e) => html`<tr><td>${when(e.at)}</td><td><code>${e.action}</code></td><td><${Outcome} value=${e.outcome} /></td>
                <td><${ShortWho} id=${e.userId} /></td><td><${ShortWho} id=${e.actorId} /></td><td>${e.ip ?? ''}</td><td><code>${e.requestId ?? ''}</code></td></tr>`,
            )}</tbody>
          </table></div>`)
    }
    ${page && html`<${Pager} pager=${pager} pageInfo=${page.pageInfo} />`}
  </section>`;
}

function Live() {
  const [actions, setActions] = useState([]);
  const [events, setEvents] = useState([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState([]);
  const [state, setState] = useState('Connecting…');
  const pausedRef = useRef(false);
  pausedRef.current = paused;
  useEffect(() => {
    setState('Connecting…');
    const add = (event) => {
      if (pausedRef.current) setHeld((h) => [event, ...h]);
      else setEvents((list) => [event, ...list].slice(0, LIVE_LIMIT));
    };
    return subscribeAudit(actions.length ? { actions } : null, {
      onEvent: add,
      onOpen: () => setState('Live'),
      onError: (message) => setState(message),
    });
  }, [actions.join()]);
  const toggle = () => {
    if (paused) {
      setEvents((list) => [...held, ...list].slice(0, LIVE_LIMIT));
      setHeld([]);
    }
    setPaused(!paused);
  };
  const submit = (event) => {
    event.preventDefault();
    setActions(list(new FormData(event.target).get('live-actions')));
  };
  return html`<section aria-labelledby="live-title">
    <h2 id="live-title">Live stream</h2>
    <form class="filters" onSubmit=${submit} aria-label="Live filter">
      <${Field} id="live-actions" label="Filter by action"><input id="live-actions" name="live-actions" placeholder="user.login" /><//>
      <button type="submit">Watch</button>
      <button type="button" aria-pressed=${paused} onClick=${toggle}>${paused ? `Resume (${held.length} new)` : 'Pause'}</button>
      <span class="muted" role="status">${paused ? 'Paused' : state}</span>
    </form>
    <div class="live" role="log" aria-label="Live audit events">
      ${events.length === 0 && html`<p class="empty">No events yet.</p>`}
      <ol>${events.map(
        (e) => html`<li key=${e.id}><time datetime=${e.at}>${when(e.at)}</time> <code>${e.action}</code> <${Outcome} value=${e.outcome} />
          user <${Who} id=${e.userId} />${e.ip ? ` from ${e.ip}` : ''}</li>`,
      )}</ol>
    </div>
  </section>`;
}

export function AuditPage() {
  return html`<section>
    <${Title}>Audit<//>
    <${Live} />
    <${Log} />
  </section>`;
}
