import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('production build', () => {
  // tsc emits only JavaScript: anything else the code reads at run time (migrations, pages,
  // scripts) must be copied into dist/ by `npm run build`, or `node dist/main.js` cannot find it.
  it('copies every non-TypeScript file under src/ into dist/', () => {
    const build = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.build ?? '';
    const copied = [...build.matchAll(/cpSync\('([^']+)','([^']+)'/g)].map((m) => ({ from: m[1]!, to: m[2]! }));
    const assets = filesUnder(join(root, 'src'))
      .map((f) => relative(root, f))
      .filter((f) => !f.endsWith('.ts'));
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      const copy = copied.find((c) => asset === c.from || asset.startsWith(`${c.from}/`));
      expect(copy, `${asset} is copied to dist/`).toBeDefined();
      // Same place relative to the compiled code as to the source: src/x → dist/x.
      expect(copy!.to, asset).toBe(copy!.from.replace(/^src\//, 'dist/'));
    }
  });
});
