// `npm run lint`: ESLint's and typescript-eslint's recommended rules over every file, plus three type-aware
// promise rules on the product code. Plain JavaScript (not .ts) so ESLint loads it without a TypeScript
// loader. typescript-eslint supports TypeScript < 6.1 only: that is why package.json pins typescript ~6.0.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // crds/generated/ is written by `npm run crds` (and checked by `npm run crds -- --check`), not by hand.
  { ignores: ['node_modules/', 'crds/generated/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a value left out on purpose (rest-destructuring, required callback parameters).
      '@typescript-eslint/no-unused-vars': ['error', {
        argsIgnorePattern: '^_',
        varsIgnorePattern: '^_',
        caughtErrorsIgnorePattern: '^_',
        destructuredArrayIgnorePattern: '^_',
        ignoreRestSiblings: true,
      }],
    },
  },
  {
    // The plain JavaScript files (this config, launch.mjs) run on Node: its globals, without a dependency for them.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly' } },
  },
  {
    // Tests read JSON bodies and poke at fakes; `any` is fine there, not in the product.
    files: ['**/*.test.ts', '**/*.e2e.ts', '**/testing/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // A rejected promise nobody awaits ends the operator (Node exits on unhandled rejections): these
    // three rules need type information, which costs about 13 s of the lint, so they run on the product
    // code only (node:test's test() returns promises that are never awaited, by design).
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.e2e.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
);
