import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const compose = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');

/** The text of one service's block, up to the next service or top-level key. */
function service(name: string): string {
  const start = compose.indexOf(`\n  ${name}:\n`);
  expect(start, name).toBeGreaterThan(-1);
  const rest = compose.slice(start + 1);
  const end = rest.slice(1).search(/\n {2}[^\s#]|\n\S/);
  return end === -1 ? rest : rest.slice(0, end + 1);
}

describe('docker-compose.yml', () => {
  it('regression: Mailpit is a pinned release with only its UI published, on 127.0.0.1 (it was `latest` on every interface, SMTP too)', () => {
    const mailpit = service('mailpit');
    expect(mailpit).toMatch(/image: axllent\/mailpit:v\d+\.\d+\.\d+\n/);
    const ports = [...mailpit.matchAll(/^\s+- "([^"]+)"/gm)].map((m) => m[1]);
    expect(ports).toEqual(['127.0.0.1:8025:8025']);
  });

  it('regression: the first admin comes from ADMIN_EMAIL and ADMIN_PASSWORD in .env, both required', () => {
    const gateway = service('gateway');
    expect(gateway).toMatch(/ADMIN_EMAIL: \$\{ADMIN_EMAIL:\?[^}]+\}/);
    expect(gateway).toMatch(/ADMIN_PASSWORD: \$\{ADMIN_PASSWORD:\?[^}]+\}/);
  });

  it('regression: the healthcheck, the published port and PUBLIC_URL follow PORT (the healthcheck had 4000 fixed)', () => {
    const gateway = service('gateway');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own variable syntax
    const port = '${PORT:-4000}';
    expect(gateway).toContain(`"${port}:${port}"`);
    expect(gateway).toContain(`PORT: ${port}`);
    expect(gateway).toContain(`PUBLIC_URL: http://localhost:${port}`);
    const healthcheck = /healthcheck:\n(?:\s+#.*\n)*\s+test: (.*)/.exec(gateway)?.[1] ?? '';
    expect(healthcheck).toContain('process.env.PORT');
    expect(healthcheck).not.toContain(':4000/');
  });
});
