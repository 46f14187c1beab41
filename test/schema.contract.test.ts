import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema } from '../src/scripts/print-schema.js';

const root = new URL('..', import.meta.url).pathname;
const tool = new URL('../../shared/tools/check-contract.mjs', import.meta.url).pathname;

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

  // The contract and its checker live beside the repository (../shared), not in it: CI has them
  // and also runs the checker itself (.ci/run); a user's clone has only the repository.
  it('is a compatible superset of the contract (check-contract finds nothing)', (ctx) => {
    if (!existsSync(tool)) ctx.skip('../shared/tools/check-contract.mjs is not beside this clone (CI runs it)');
    const { code, lines } = checkContract();
    expect(lines).toEqual([]);
    expect(code).toBe(0);
  });
});
