// The live audit stream over graphql-ws (the same path as HTTP), authenticated in the
// connection parameters as the API expects. A stream the server ends with UNAUTHENTICATED
// (the session was revoked) signs the console out.
import { createClient } from '/admin/vendor/graphql-ws/client.js';
import { accessToken, endSession } from '/admin/api.js';

const SUBSCRIPTION = 'subscription Live($filter: AuditFilter) { auditEvents(filter: $filter) { id at action outcome actorId userId ip } }';

function codeOf(errors) {
  const list = Array.isArray(errors) ? errors : [errors];
  return list.find((e) => e?.extensions?.code)?.extensions.code;
}

/** Subscribes; returns the function that unsubscribes and closes the socket. */
export function subscribeAudit(filter, { onEvent, onError, onOpen }) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const client = createClient({
    url,
    connectionParams: () => ({ authorization: `Bearer ${accessToken()}` }),
    retryAttempts: 3,
    on: { connected: () => onOpen?.() },
  });
  const fail = (errors) => {
    const code = codeOf(errors);
    if (code === 'UNAUTHENTICATED') return endSession('Your session was revoked. Sign in again.');
    onError(code === 'FORBIDDEN' ? 'You may not watch audit events (audit:read).' : 'The live stream stopped.');
  };
  const dispose = client.subscribe(
    { query: SUBSCRIPTION, variables: { filter } },
    {
      next: (result) => (result.errors?.length ? fail(result.errors) : onEvent(result.data.auditEvents)),
      error: fail,
      complete: () => undefined,
    },
  );
  return () => {
    dispose();
    void client.dispose();
  };
}
