import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { mergeHttpHooks } from '../src/graphql/plugins/merge-http-hooks.js';

// The gateway runs all its plugins' onRequest and onResponse hooks as one of each
// (src/graphql/plugins/merge-http-hooks.ts): the same order and the same early end as the
// server's own loop over them, checked here on a yoga server of its own through yoga.fetch.
function setup(plugins: Plugin[]) {
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'world' } } }),
    plugins: mergeHttpHooks(plugins),
    logging: false,
  });
  // async: the server throws a hook's synchronous error out of fetch itself.
  return async (path: string, init?: RequestInit) => yoga.fetch(new URL(`http://yoga.test${path}`), init ?? {});
}

const query = (fetch: ReturnType<typeof setup>) =>
  fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ hello }' }) });

describe('merged onRequest and onResponse hooks', () => {
  it('runs every hook in the plugins order, awaiting a promise before the next, and leaves the other hooks in place', async () => {
    const calls: string[] = [];
    const fetch = setup([
      { onRequest: () => void calls.push('request a'), onResponse: () => void calls.push('response a') },
      { onExecute: () => void calls.push('execute b') },
      {
        onRequest: () =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              calls.push('request c (async)');
              resolve();
            }, 5),
          ),
      },
      { onRequest: () => void calls.push('request d'), onResponse: ({ response }) => void calls.push(`response d ${response.status}`) },
    ]);
    const response = await query(fetch);
    expect(await response.json()).toEqual({ data: { hello: 'world' } });
    expect(calls).toEqual(['request a', 'request c (async)', 'request d', 'execute b', 'response a', 'response d 200']);
  });

  it('stops at the hook that ends the response (sync or after a promise), and the response hooks still run', async () => {
    const calls: string[] = [];
    const fetch = setup([
      {
        onRequest: ({ url, endResponse, fetchAPI }) => {
          calls.push(`route ${url.pathname}`);
          if (url.pathname === '/sync') endResponse(new fetchAPI.Response('sync', { status: 201 }));
        },
      },
      {
        onRequest: ({ url, endResponse, fetchAPI }) => {
          if (url.pathname === '/later') return Promise.resolve().then(() => endResponse(new fetchAPI.Response('later', { status: 202 })));
        },
      },
      { onRequest: ({ url }) => void calls.push(`after ${url.pathname}`), onResponse: ({ response }) => void calls.push(`response ${response.status}`) },
    ]);
    const sync = await fetch('/sync');
    expect([sync.status, await sync.text()]).toEqual([201, 'sync']);
    const later = await fetch('/later');
    expect([later.status, await later.text()]).toEqual([202, 'later']);
    expect(calls).toEqual(['route /sync', 'response 201', 'route /later', 'response 202']);
    // A request no hook ends goes on to GraphQL, through every hook.
    expect((await query(fetch)).status).toBe(200);
    expect(calls.slice(4)).toEqual(['route /graphql', 'after /graphql', 'response 200']);
  });

  it('shows a replaced request to the hooks after the one that replaced it, its URL too', async () => {
    const seen: string[] = [];
    const fetch = setup([
      { onRequest: ({ url }) => void seen.push(url.pathname) },
      {
        onRequest: ({ request, setRequest, fetchAPI }) =>
          setRequest(new fetchAPI.Request(new URL('/moved', request.url), { headers: { 'x-replaced': 'yes' } })),
      },
      {
        onRequest: ({ request, url, endResponse, fetchAPI }) =>
          endResponse(new fetchAPI.Response(`${url.pathname} ${request.headers.get('x-replaced')}`, { status: 200 })),
      },
    ]);
    const response = await fetch('/first');
    expect(await response.text()).toBe('/moved yes');
    expect(seen).toEqual(['/first']);
  });

  it('shows a replaced response to the hooks after the one that replaced it, and the client gets it', async () => {
    const fetch = setup([
      { onResponse: ({ setResponse, fetchAPI }) => setResponse(new fetchAPI.Response('replaced', { status: 418 })) },
      { onResponse: ({ response }) => response.headers.set('x-seen-status', String(response.status)) },
    ]);
    const response = await query(fetch);
    expect(response.status).toBe(418);
    expect(response.headers.get('x-seen-status')).toBe('418');
    expect(await response.text()).toBe('replaced');
  });

  it('fails the request as the server does when a hook throws or rejects, and runs no hook after it', async () => {
    for (const failing of [
      () => {
        throw new Error('hook failed');
      },
      () => Promise.reject(new Error('hook failed')),
    ]) {
      const calls: string[] = [];
      const plugins: Plugin[] = [{ onRequest: failing }, { onRequest: () => void calls.push('after') }];
      const unmerged = createYoga({ schema: createSchema({ typeDefs: 'type Query { hello: String }' }), plugins, logging: false });
      const request = () =>
        [new URL('http://yoga.test/graphql'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ hello }"}' }] as const;
      await expect((async () => unmerged.fetch(...request()))()).rejects.toThrow('hook failed');
      await expect(query(setup(plugins))).rejects.toThrow('hook failed');
      expect(calls).toEqual([]);
    }
  });
});
