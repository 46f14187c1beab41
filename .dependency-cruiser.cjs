/**
 * The architecture's rules as code (STYLE.md "Dependency rules", docs/architecture.md).
 * `npm run lint:deps` fails on any violation; `npm run lint` runs it, and CI runs that.
 * Type-only imports count for cycles too: a cycle of types is still a knot for a reader.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles, of values or of types.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-is-a-leaf',
      severity: 'error',
      comment: 'src/shared holds ports and adapters: it imports nothing from modules, the GraphQL layer or deps.ts.',
      from: { path: '^src/shared/' },
      to: { path: ['^src/modules/', '^src/graphql/', '^src/deps\\.ts$', '^src/context\\.ts$', '^src/app\\.ts$'] },
    },
    {
      name: 'services-below-graphql',
      severity: 'error',
      comment: 'Services, queries and tables never import the GraphQL layer (graphql.ts -> service.ts -> queries.ts/tables.ts).',
      from: { path: '^src/modules/[^/]+/(service|queries|tables)\\.ts$' },
      to: { path: ['^src/graphql/', '^src/modules/[^/]+/graphql\\.ts$', '^src/context\\.ts$'] },
    },
    {
      name: 'no-foreign-graphql',
      severity: 'error',
      comment: "A module never imports another module's graphql.ts: shared GraphQL refs live in src/graphql/refs.ts.",
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/[^/]+/graphql\\.ts$', pathNot: '^src/modules/$1/' },
    },
    {
      name: 'no-foreign-tables',
      severity: 'error',
      comment:
        "A module never imports another module's tables for values: it calls that module's queries or service (its row types may be imported). " +
        "Exception: a tables.ts may import another tables.ts for a foreign key's `references()`, which drizzle can only express that way.",
      from: {
        path: '^src/modules/([^/]+)/',
        pathNot: [
          '^src/modules/[^/]+/tables\\.ts$',
          // Justified: a user's effective caps are direct grants (users.caps) and their roles' caps,
          // read in one statement on every authenticated request; two modules' queries would be two round trips.
          '^src/modules/roles/queries\\.ts$',
          // Justified: the admin console's read model: a page of users filtered by role, and counts across
          // users and roles, are single indexed SQL statements (a join, a subquery) that no one module owns.
          '^src/modules/admin/queries\\.ts$',
        ],
      },
      to: { path: '^src/modules/[^/]+/tables\\.ts$', pathNot: '^src/modules/$1/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'sessions-calls-no-factor',
      severity: 'error',
      comment: 'sessions/ owns the session lifecycle; first factors (auth/) and second factors (mfa/) hand over to it, never the other way.',
      from: { path: '^src/modules/sessions/' },
      to: { path: ['^src/modules/auth/', '^src/modules/mfa/'] },
    },
    {
      name: 'nothing-up-to-the-server',
      severity: 'error',
      comment: 'Modules never import the composition root (deps.ts builds ports; app.ts/main.ts start the running services).',
      from: { path: '^src/(modules|graphql|shared)/' },
      to: { path: ['^src/app\\.ts$', '^src/main\\.ts$', '^src/server\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/db/migrations/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
