// One flat config for the whole repository: type-aware rules plus the import-boundary
// rules of docs/architecture.md (layers), which keep dependencies pointing one way.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const svc = 'packages/service/src'

/**
 * Folders of the service and the internal folders each may NOT import.
 * Patterns match the import specifier, e.g. `../queue/queue.js`.
 */
const forbidden = {
  lib: [
    'errors',
    'spec',
    'zendesk',
    'queue',
    'store',
    'db',
    'cluster',
    'mapping',
    'actions',
    'delivery',
    'http',
    'config',
    'main',
  ],
  spec: [
    'zendesk',
    'queue',
    'store',
    'db',
    'cluster',
    'mapping',
    'actions',
    'delivery',
    'http',
    'config',
    'main',
  ],
  zendesk: [
    'spec',
    'queue',
    'store',
    'db',
    'cluster',
    'mapping',
    'actions',
    'delivery',
    'http',
    'config',
    'main',
  ],
  // queue/ and store/ may use db/pg.ts (the pool and transactions), never db/open-backend.ts.
  queue: [
    'spec',
    'zendesk',
    'store',
    'open-backend',
    'cluster',
    'mapping',
    'actions',
    'delivery',
    'http',
    'config',
    'main',
  ],
  store: [
    'spec',
    'zendesk',
    'queue',
    'open-backend',
    'cluster',
    'mapping',
    'actions',
    'delivery',
    'http',
    'config',
    'main',
  ],
  // db/open-backend.ts composes the queue and the stores of a backend; db/ knows nothing above them.
  db: ['spec', 'zendesk', 'cluster', 'mapping', 'actions', 'delivery', 'http', 'config', 'main'],
  // The delivery leases: the clock, errors and the database only.
  cluster: ['spec', 'zendesk', 'queue', 'store', 'mapping', 'actions', 'delivery', 'http', 'config', 'main'],
  mapping: ['zendesk', 'queue', 'store', 'db', 'cluster', 'actions', 'delivery', 'http', 'config', 'main'],
  actions: ['queue', 'store', 'db', 'cluster', 'delivery', 'http', 'config', 'main'],
  // The worker sees a destination's lease through its deps, never cluster/ itself.
  delivery: ['db', 'cluster', 'http', 'config', 'main'],
  http: ['zendesk', 'mapping', 'db', 'cluster', 'delivery', 'config', 'main'],
}

/** @param {string} name */
function patternFor(name) {
  return name === 'config' || name === 'main' || name === 'errors' || name === 'open-backend'
    ? [`**/${name}.js`, `./${name}.js`]
    : [`**/${name}/**`, `./${name}/**`]
}

// Tests are exempt (and their shared set-up, `*-fixture.ts`): they may wire real modules of any
// layer and start the emulator.
const layerRules = Object.entries(forbidden).map(([folder, names]) => ({
  files: [`${svc}/${folder}/**/*.ts`],
  ignores: ['**/*.test.ts', '**/*.contract.ts', '**/*-fixture.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: names.flatMap(patternFor),
            message: `${folder}/ may not import this layer (see docs/architecture.md, "Dependency rules").`,
          },
          { group: ['@zdd/*'], message: 'Only main.ts may import sibling packages.' },
        ],
      },
    ],
  },
}))

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'coverage/**',
      'stubs/**',
      '**/*.config.js',
      '**/*.config.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      curly: ['error', 'all'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-warning-comments': ['error', { terms: ['fixme', 'xxx'], location: 'start' }],
      'no-restricted-globals': [
        'error',
        {
          name: 'process',
          message: 'Only config.ts and main.ts may touch process (pass config in instead).',
        },
      ],
    },
  },
  // Only the composition roots may touch the process.
  {
    files: [
      `${svc}/main.ts`,
      `${svc}/config.ts`,
      'packages/zendesk-emulator/src/main.ts',
      'bench/**',
      '**/*.test.ts',
      'packages/*/test/**',
    ],
    rules: { 'no-restricted-globals': 'off' },
  },
  ...layerRules,
  // The emulator must stay independent: a shared misunderstanding of Zendesk would make tests pass wrongly.
  {
    files: ['packages/zendesk-emulator/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@zdd/service', '@zdd/service/*', '**/service/**'],
              message: 'The emulator imports nothing from the service.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'packages/*/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
)
