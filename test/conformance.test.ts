import { serverAudits, type AuditResult } from 'graphql-http';
import { beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../src/graphql/plugins/use-csrf.js';
import { backends, useTestApp } from './support/app.js';

/**
 * Audits our CSRF rule must fail (use-csrf.ts): each sends a GET query with no Content-Type and
 * no CSRF header, exactly what an `<img src>` or a link can send from any site, so the server
 * answers 403. Each is a MAY of the GraphQL-over-HTTP spec (GET support is optional), and each
 * passes once the header is sent (the second run below).
 */
const CSRF_REFUSED: Record<string, string> = {
  '5A70': 'MAY accept application/x-www-form-urlencoded formatted GET requests',
  D6D5: 'MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting application/graphql-response+json',
  '6A70': 'MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting application/json',
};

/** The audit's verdict, with its response body read (an unread body would hold the connection open). */
async function run(fn: () => Promise<AuditResult>) {
  const result = await fn();
  if (result.status === 'ok') return { status: result.status, reason: '', httpStatus: 0 };
  const body = await result.response.text().catch(() => '');
  return { status: result.status, reason: `${result.reason}\n${body}`, httpStatus: result.response.status };
}

describe.each(backends())('GraphQL over HTTP conformance: graphql-http server audits (%s)', (backend) => {
  const app = useTestApp(backend);
  let url = '';
  beforeAll(async () => {
    url = await app.listen();
  });

  const plain = serverAudits({ url: () => url, fetchFn: fetch });
  const withHeader = serverAudits({
    url: () => url,
    fetchFn: (input: RequestInfo | URL, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      headers.set(CSRF_HEADER, '1');
      return fetch(input, { ...init, headers });
    },
  });

  it('the allow-list names real audits', () => {
    const names = Object.fromEntries(plain.map((a) => [a.id, a.name]));
    for (const [id, name] of Object.entries(CSRF_REFUSED)) expect(names[id]).toBe(name);
  });

  describe('as any client sends them', () => {
    for (const audit of plain) {
      const refused = audit.id in CSRF_REFUSED;
      it(`${audit.id} ${audit.name}${refused ? ' (refused by the CSRF rule)' : ''}`, async () => {
        const result = await run(audit.fn);
        if (refused) {
          expect(result.status).not.toBe('ok');
          expect(result.httpStatus, result.reason).toBe(403);
          expect(result.reason).toContain('Required CSRF header(s) not present');
        } else {
          expect(result.status, result.reason).toBe('ok');
        }
      });
    }
  });

  describe(`with the ${CSRF_HEADER} header, every audit passes`, () => {
    for (const audit of withHeader) {
      it(`${audit.id} ${audit.name}`, async () => {
        const result = await run(audit.fn);
        expect(result.status, result.reason).toBe('ok');
      });
    }
  });
});
