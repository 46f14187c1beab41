import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema } from '../src/scripts/print-schema.js';

// The API contract and its checker live beside the repository (../shared), not in it, so the
// suite (which must pass on a plain clone) does not read them: .ci/run runs the checker itself.
describe('schema', () => {
  it('schema.graphql is what the code prints (run `npm run schema:print`)', () => {
    expect(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8')).toBe(printedSchema());
  });
});
