import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const example = new URL('../examples/client/', import.meta.url).pathname;

function run(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('client code generation', () => {
  it('the README shows examples/client/codegen.ts as it is', () => {
    const config = readFileSync(new URL('codegen.ts', `file://${example}`), 'utf8');
    expect(readFileSync(new URL('README.md', `file://${root}`), 'utf8')).toContain(config.trim());
  });

  it('the documented codegen config generates from schema.graphql, and the output (ErrorCode, DateTime as string) type-checks', { timeout: 180_000 }, () => {
    const codegen = run([`${root}node_modules/@graphql-codegen/cli/esm/bin.js`, '--config', 'codegen.ts'], example);
    expect(codegen.code, codegen.output).toBe(0);
    const tsc = run([`${root}node_modules/typescript/bin/tsc`, '-p', '.'], example);
    expect(tsc.code, tsc.output).toBe(0);
    expect(readFileSync(new URL('src/gql/enums.ts', `file://${example}`), 'utf8')).toMatch(/export type ErrorCode =[^;]*'RATE_LIMITED'/);
  });
});
