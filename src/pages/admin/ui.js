// Small building blocks shared by the pages: Preact through htm (tagged templates, no build step).
import { h } from '/admin/vendor/preact.mjs';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from '/admin/vendor/hooks.mjs';
import htm from '/admin/vendor/htm.mjs';
import { gql, isUnavailable } from '/admin/api.js';

export const html = htm.bind(h);

/** A query run on mount and whenever `deps` change: { data, error, loading, reload }. */
export function useQuery(query, variables, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    gql(query, variables).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: useCallback(() => setTick((t) => t + 1), []) };
}

/** Runs a mutation with a busy flag and the last error or success message. */
export function useAction() {
  const [state, setState] = useState({ busy: false, error: null, done: null });
  const run = useCallback(async (action, doneMessage) => {
    setState({ busy: true, error: null, done: null });
    try {
      const result = await action();
      setState({ busy: false, error: null, done: doneMessage ?? null });
      return result;
    } catch (error) {
      setState({ busy: false, error, done: null });
      return undefined;
    }
  }, []);
  return { ...state, run };
}

export const Loading = () => html`<p role="status" class="muted">Loading…</p>`;

export const Empty = ({ children }) => html`<p class="empty">${children}</p>`;

/** An error answer, with what it means for an admin (least privilege, a missing feature). */
export function ErrorNote({ error }) {
  if (!error) return null;
  if (isUnavailable(error)) return html`<p role="alert" class="note">Not available on this server.</p>`;
  const hint =
    error.code === 'FORBIDDEN'
      ? ' (least privilege: you need the cap for this, and must hold every cap you grant or that the account holds)'
      : error.code === 'REAUTH_REQUIRED'
        ? ' (sign in again: this needs a sign-in within the last 5 minutes)'
        : '';
  return html`<p role="alert" class="error"><strong>${error.code}</strong>: ${error.message}${hint}</p>`;
}

export const Done = ({ message }) => (message ? html`<p role="status" class="done">${message}</p>` : null);

export function when(value) {
  return value ? new Date(value).toLocaleString() : '—';
}

/** Cursor paging: a stack of the cursors that opened the pages before this one. */
export function usePager() {
  const [cursors, setCursors] = useState([null]);
  const after = cursors[cursors.length - 1];
  return {
    after,
    page: cursors.length,
    next: (endCursor) => setCursors((c) => [...c, endCursor]),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    reset: () => setCursors([null]),
  };
}

export function Pager({ pager, pageInfo }) {
  return html`<nav class="pager" aria-label="Pages">
    <button type="button" disabled=${pager.page === 1} onClick=${pager.previous}>Previous page</button>
    <span>Page ${pager.page}</span>
    <button type="button" disabled=${!pageInfo?.hasNextPage} onClick=${() => pager.next(pageInfo.endCursor)}>Next page</button>
  </nav>`;
}

/** A button that asks first, in a modal dialog (focus moves into it; Escape cancels). */
export function ConfirmButton({ label, question, confirmLabel, onConfirm, danger = false }) {
  const dialog = useRef(null);
  const confirm = async () => {
    dialog.current.close();
    await onConfirm();
  };
  return html`<span>
    <button type="button" class=${danger ? 'danger' : ''} onClick=${() => dialog.current.showModal()}>${label}</button>
    <dialog ref=${dialog} aria-label=${label}>
      <p>${question}</p>
      <div class="row">
        <button type="button" class=${danger ? 'danger' : ''} onClick=${confirm}>${confirmLabel}</button>
        <button type="button" onClick=${() => dialog.current.close()}>Cancel</button>
      </div>
    </dialog>
  </span>`;
}

/** A labelled form field; `id` ties the label to it. */
export function Field({ id, label, children, hint }) {
  return html`<div class="field"><label for=${id}>${label}</label>${children}${hint ? html`<small>${hint}</small>` : null}</div>`;
}

export const list = (text) =>
  String(text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * A page's heading. It takes focus when it appears (a new page, or one whose data came), so
 * keyboard and screen-reader users land on the page they opened rather than on the old link.
 * A layout effect: the focus moves in the same commit that shows the heading, never a frame later.
 */
export function Title({ children }) {
  const heading = useRef(null);
  useLayoutEffect(() => {
    heading.current?.focus();
  }, []);
  return html`<h1 tabindex="-1" ref=${heading}>${children}</h1>`;
}
