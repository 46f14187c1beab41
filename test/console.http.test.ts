import { describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../src/graphql/plugins/use-console.js';
import { backends, useTestApp } from './support/app.js';

/** GET /admin over HTTP: the document, its assets and the vendored libraries, with the headers that hold them. */
describe.each(backends())('the admin console route (%s)', (backend) => {
  const app = useTestApp(backend);

  it('serves the page at /admin and /admin/ with a strict CSP (no inline code, never framed) and no-store', async () => {
    for (const path of ['/admin', '/admin/']) {
      const response = await app.fetch(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await response.text();
      // Script and style only from files: no inline <script> body, no <style>, no style attribute.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|\sstyle=/);
    }
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  });

  it('serves its modules and the libraries from the installed packages, every import resolving to a served file on this origin', async () => {
    const seen = new Set<string>();
    const queue = ['/admin/app.js'];
    while (queue.length) {
      const path = queue.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const response = await app.fetch(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe('text/javascript; charset=utf-8');
      const source = await response.text();
      for (const [, spec] of source.matchAll(/^\s*(?:import|export)\b[^;]*?from\s*["']([^"']+)["']/gm)) {
        // No bare specifier (it would need an import map) and nothing from another origin.
        expect(spec!, `${path} imports ${spec}`).toMatch(/^(\/admin\/|\.\/)/);
        queue.push(spec!.startsWith('./') ? new URL(spec!, `http://x${path}`).pathname : spec!);
      }
    }
    for (const lib of [
      '/admin/vendor/preact.mjs',
      '/admin/vendor/hooks.mjs',
      '/admin/vendor/htm.mjs',
      '/admin/vendor/uplot.mjs',
      '/admin/vendor/graphql-ws/client.js',
    ]) {
      expect(seen.has(lib), lib).toBe(true);
    }
    const css = await app.fetch('/admin/vendor/uplot.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers 404 for an unknown file under /admin/, with the same CSP', async () => {
    const response = await app.fetch('/admin/nothing-here.js');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect((await app.fetch('/admin/vendor/../../package.json')).status).not.toBe(200);
  });
});

describe('the admin console route with ADMIN_CONSOLE=false', () => {
  const app = useTestApp('embedded', { env: { ADMIN_CONSOLE: 'false' } });

  it('is not served (404), and the API answers as before', async () => {
    expect((await app.fetch('/admin')).status).toBe(404);
    expect((await app.fetch('/admin/app.js')).status).toBe(404);
    expect((await app.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });
});
