import { randomBytes } from 'node:crypto';
import { recordStatements } from '../test/support/statements.js';
import type { Backends } from './backends.js';
import type { Cleanup } from './cleanup.js';
import { graphqlBody, postGraphql } from './graphql-client.js';
import { startGatewayWithDeps } from './servers.js';

const USERS = 'query($first: Int) { users(first: $first) { nodes { id roles caps } } }';

/**
 * Statements of the background readers of the audit outbox (the live-audit relay, the webhook
 * worker), which poll while the request runs, up to 40 times a second after the registrations'
 * audit rows: they are not the request's, and counting them made the figure move from run to
 * run. Transaction control is left out with them (a poller's `begin`); every statement that
 * reads or writes data for the request still counts.
 */
const BACKGROUND = [/pg_current_snapshot\(\)/, /"webhook_cursor"/, /^\s*(begin|commit|rollback)\b/i];

/**
 * SQL statements one `users(first: N) { nodes { roles caps } }` sends, counted at the driver
 * (postgres.js or PGlite) of an in-process gateway with 120 accounts, for N = 1 and N = 100,
 * after a warm-up request, the outbox pollers' statements left out (BACKGROUND): constant when
 * the page's roles and caps are read in one batch.
 */
export async function countUserListQueries(backends: Backends, cleanup: Cleanup, secretKey: string): Promise<{ first1: number; first100: number }> {
  const adminEmail = `bench-admin-${randomBytes(4).toString('hex')}@example.com`;
  const adminPassword = randomBytes(18).toString('base64url');
  console.log('query count: users(first: 1 and 100) { nodes { roles caps } }');
  const { url, deps } = await startGatewayWithDeps(backends, cleanup, { secretKey, adminEmail, adminPassword });
  const register = 'mutation R($input: RegisterInput!) { register(input: $input) { auth { accessToken } } }';
  for (let i = 0; i < 120; i++) {
    await postGraphql(url, graphqlBody(register, { input: { email: `bench-q${i}-${randomBytes(4).toString('hex')}@example.com`, password: adminPassword } }));
  }
  const login = 'mutation L($input: LoginInput!) { login(input: $input) { accessToken } }';
  const { accessToken } = (await postGraphql(url, graphqlBody(login, { input: { email: adminEmail, password: adminPassword } }))).login as {
    accessToken: string;
  };
  const count = async (first: number) => {
    const recorder = recordStatements({ deps });
    try {
      await postGraphql(url, graphqlBody(USERS, { first }), accessToken);
      return recorder.statements.filter((sql) => !BACKGROUND.some((pattern) => pattern.test(sql))).length;
    } finally {
      recorder.stop();
    }
  };
  await count(1);
  return { first1: await count(1), first100: await count(100) };
}
