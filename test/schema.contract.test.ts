import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema, printedSubgraphSchema } from '../src/scripts/print-schema.js';

// The API contract and its checker live beside the repository (../shared), not in it, so the
// suite (which must pass on a plain clone) does not read them: .ci/run runs the checker itself.
describe('schema', () => {
  it('schema.graphql is what the code prints (run `npm run schema:print`)', () => {
    expect(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8')).toBe(printedSchema());
  });

  it('schema.subgraph.graphql is what the code prints for FEDERATION=true (run `npm run schema:print`)', () => {
    expect(readFileSync(new URL('../schema.subgraph.graphql', import.meta.url), 'utf8')).toBe(printedSubgraphSchema());
  });
});
