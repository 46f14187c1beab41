import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * GraphQL Code Generator, client preset: typed operations from the gateway's published schema.
 * Run with `npx graphql-codegen --config codegen.ts`.
 */
const config: CodegenConfig = {
  // The published schema; outside production the running gateway works too: 'http://localhost:4000/graphql'.
  schema: '../../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**'],
  generates: {
    './src/gql/': {
      preset: 'client',
      config: {
        // DateTime is an ISO 8601 string on the wire; JSON (audit metadata) is any JSON value.
        scalars: { DateTime: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
    // The client preset emits only the enums an operation uses; ErrorCode (the values of
    // `extensions.code`) is used by none, so every enum is also written here.
    './src/gql/enums.ts': {
      plugins: ['typescript'],
      config: { onlyEnums: true, enumsAsTypes: true },
    },
  },
};

export default config;
