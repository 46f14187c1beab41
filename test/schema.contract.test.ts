import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema } from '../src/scripts/print-schema.js';

const root = new URL('..', import.meta.url).pathname;
const tool = new URL('../../shared/tools/check-contract.mjs', import.meta.url).pathname;

/** Contract parts that later issues implement; each one that lands must leave this list. */
function pending(): Set<string> {
  return new Set(
    readFileSync(new URL('./contract-pending.txt', import.meta.url), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

function checkContract(): { code: number; lines: string[] } {
  try {
    const out = execFileSync('node', [tool, 'schema.graphql'], { cwd: root, encoding: 'utf8' });
    return { code: 0, lines: out.split('\n').filter((l) => l && !l.startsWith('check-contract')) };
  } catch (error) {
    const e = error as { status: number; stdout: string };
    return { code: e.status, lines: e.stdout.split('\n').filter((l) => l && !l.startsWith('check-contract')) };
  }
}

describe('schema', () => {
  it('schema.graphql is what the code prints (run `npm run schema:print`)', () => {
    expect(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8')).toBe(printedSchema());
  });

  it('breaks nothing in the contract: every difference is a part not yet built, listed in contract-pending.txt', () => {
    expect(existsSync(tool), `${tool} is missing`).toBe(true);
    const { code, lines } = checkContract();
    expect(code, lines.join('\n')).not.toBe(2);
    const allowed = pending();
    expect(lines.filter((l) => !allowed.has(l))).toEqual([]);
    // Only removals may be pending: whatever exists must match the contract exactly.
    for (const line of lines) expect(line).toMatch(/^(TYPE_REMOVED|FIELD_REMOVED): /);
    // A built part must leave the list, so the list never hides a regression.
    expect([...allowed].filter((l) => !lines.includes(l))).toEqual([]);
  });
});
