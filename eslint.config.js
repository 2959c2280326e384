// Type-aware linting: floating promises are bugs in a server that must ack only what it stored.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'data',
      'dist',
      '**/dist',
      'coverage',
      'test-artifacts',
      'bench/results',
      'scratch',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // The layout is the dependency graph (README "Layout"): core/ (pure, shared with the SDK) ← lib/
  // (plumbing) ← store/ ← collector/, analyzer/ ← dashboards/; bin/ composes them. Nothing imports sideways
  // or upward, so the folders say what depends on what.
  ...layer('core', ['lib', 'store', 'collector', 'analyzer', 'dashboards', 'sdk', 'bin']),
  ...layer('sdk', ['lib', 'store', 'collector', 'analyzer', 'dashboards', 'bin']),
  ...layer('lib', ['store', 'collector', 'analyzer', 'dashboards', 'sdk', 'bin']),
  ...layer('store', ['collector', 'analyzer', 'dashboards', 'sdk', 'bin']),
  ...layer('collector', ['analyzer', 'dashboards', 'sdk', 'bin']),
  ...layer('analyzer', ['collector', 'dashboards', 'sdk', 'bin']),
  ...layer('dashboards', ['collector', 'sdk', 'bin']),
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
)

/** Forbids imports from `above` (folders at the same level or higher) in every file under `folder`. */
function layer(folder, above) {
  return [
    {
      files: [`${folder}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: above.map((f) => ({
              group: [`**/${f}/*`, `**/${f}/**`],
              message: `${folder}/ may not import ${f}/ (README "Layout": imports go downward only)`,
            })),
          },
        ],
      },
    },
  ]
}
