type GraphqlResponse = { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };

/** The JSON body every load run POSTs: query plus variables, as any GraphQL client sends it. */
export function graphqlBody(query: string, variables?: Record<string, unknown>): string {
  return JSON.stringify(variables ? { query, variables } : { query });
}

/** One POST; throws with the first GraphQL error (and its code) so a broken setup says why. */
export async function postGraphql(url: string, body: string, token?: string): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body });
  const json = (await response.json()) as GraphqlResponse;
  const error = json.errors?.[0];
  if (error) throw new Error(`GraphQL error${error.extensions?.code ? ` ${error.extensions.code}` : ''}: ${error.message}`);
  if (response.status !== 200 || !json.data) throw new Error(`HTTP ${response.status} without data`);
  return json.data;
}
