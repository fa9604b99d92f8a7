// ESLint (flat config) + typescript-eslint. Formatting is Prettier's job (npm run format).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // broken-syntax.agent.mjs is a fixture that must not parse (a broken agent module).
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.tmp-*/**',
      'docs/**',
      'test/fixtures/broken-syntax.agent.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '^(fs|path|os|url|util|worker_threads|child_process|crypto|events|stream|http|net|assert|perf_hooks|timers)(/.*)?$',
              message: 'Use the node: prefix for built-in modules.',
            },
          ],
        },
      ],
    },
  },
  {
    // Machines are pure: no Node built-ins, no I/O.
    files: ['machines/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^node:', message: 'machines/ must stay pure (no node:* imports).' }] },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'Date'],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly' } },
  },
);
