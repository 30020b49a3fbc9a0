// Flat config. The layering rules of docs/architecture.md §1 are enforced here, so a violation
// fails `npm run lint` (and test/arch/layering.test.ts fails the suite).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group: [group], message })) }],
});

export default tseslint.config(
  {
    ignores: [
      'out/**',
      'dist/**',
      'node_modules/**',
      'test-results/**',
      'docs/**',
      'sim/**',
      '**/*.cjs',
      'vitest.config.ts',
      '.demo-data/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-expect-error': 'allow-with-description' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Plain JS scripts (build, test runner, fixtures, benchmarks): no type information.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      parserOptions: { projectService: false, project: false },
      globals: Object.fromEntries(
        [
          'process',
          'console',
          'URL',
          'URLSearchParams',
          'setTimeout',
          'setInterval',
          'setImmediate',
          'clearTimeout',
          'clearInterval',
          'clearImmediate',
          'queueMicrotask',
          'Buffer',
          'performance',
          'global',
          'globalThis',
          'fetch',
          'AbortController',
          'TextDecoder',
          'TextEncoder',
          'structuredClone',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: restrict(
      [
        'node:*',
        'electron',
        'electron-store',
        'ws',
        'undici',
        '**/core/**',
        '**/main/**',
        '**/renderer/**',
        '**/cli/**',
        '**/preload/**',
      ],
      'src/shared may import only zod.',
    ),
  },
  {
    files: ['src/core/**/*.ts'],
    rules: restrict(
      [
        'electron',
        'electron/*',
        'electron-store',
        '**/main/**',
        '**/preload/**',
        '**/renderer/**',
        '**/cli/**',
      ],
      'src/core is plain Node: never electron, main, preload, renderer or cli.',
    ),
  },
  {
    files: ['src/main/**/*.ts'],
    rules: restrict(['**/renderer/**', '**/cli/**'], 'src/main may import core, shared and electron only.'),
  },
  {
    files: ['src/preload/**/*.ts'],
    rules: restrict(
      ['node:*', '**/core/**', '**/main/**', '**/renderer/**', 'electron-store'],
      'The sandboxed preload may import shared and electron only.',
    ),
  },
  {
    files: ['src/renderer/**/*.ts'],
    rules: restrict(
      ['node:*', 'electron', 'electron-store', '**/core/**', '**/main/**', '**/cli/**', '**/preload/**'],
      'The renderer may import shared only.',
    ),
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: restrict(
      ['electron', 'electron-store', '**/main/**', '**/renderer/**', '**/preload/**'],
      'The CLI is plain Node.',
    ),
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
