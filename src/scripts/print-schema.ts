import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { schema } from '../graphql/schema.js';
import { printedSubgraphSchema } from '../graphql/subgraph.js';

/** Writes schema.graphql from the Pothos schema; a test fails when the committed file is stale. */
export function printedSchema(): string {
  return `${printSchema(schema)}\n`;
}

export { printedSubgraphSchema };

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('../../schema.graphql', import.meta.url), printedSchema());
  // The SDL a supergraph composes with FEDERATION=true (what `_service { sdl }` answers).
  writeFileSync(new URL('../../schema.subgraph.graphql', import.meta.url), printedSubgraphSchema());
  console.log('schema.graphql and schema.subgraph.graphql written');
}
