// ESLint flat config for tortie.
//
// TypeScript is linted with type information (recommendedTypeChecked): the
// checks that need types are the ones that catch real bugs in async, socket
// and protocol code (floating promises, promises passed where a callback's
// result is ignored, unsafe `any` flowing into typed code). We add a few
// strict-set rules that pay their way in protocol code and leave out the ones
// that fight it (banning numbers in template strings, `!` after an index we
// have just bounds-checked, comparing a wire byte with an enum member).

import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node globals for the plain .js/.mjs scripts (TypeScript files get theirs from @types/node). */
const nodeGlobals = {
  console: 'readonly',
  process: 'readonly',
  Buffer: 'readonly',
  URL: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setInterval: 'readonly',
  clearInterval: 'readonly',
  setImmediate: 'readonly',
  queueMicrotask: 'readonly',
  structuredClone: 'readonly',
  TextEncoder: 'readonly',
  TextDecoder: 'readonly',
  AbortController: 'readonly',
};

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', '.tmp/', 'coverage/']),
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // The three the project insists on (style.md): errors, never warnings.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',

      // From the strict set: worth it for protocol code.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports' },
      ],

      // `_`-prefixed names are deliberately unused (e.g. an interface's parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      eqeqeq: ['error', 'smart'],

      // Wire fields are plain numbers compared against IANA enums
      // (`type === AttrType.Origin`); casting every byte to the enum first
      // would add noise and no safety.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
    },
  },
  {
    // chai's property assertions (`expect(x).to.be.true`) are expressions by design.
    files: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: 'module',
      globals: nodeGlobals,
    },
  },
);
