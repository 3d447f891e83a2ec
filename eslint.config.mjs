import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'examples/**/node_modules/**', '.vscode-test/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly',
        clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly',
        AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly',
        fetch: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', __dirname: 'readonly', require: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The layers (ARCHITECTURE.md): protocol and shared at the bottom; core and backend each on top of them only, never
  // on each other; cli and extension on top. Nothing below the extension imports vscode. A wrong import is a lint error.
  layer(['src/protocol/**/*.ts', 'src/shared/**/*.ts'], ['**/core/**', '**/backend/**', '**/cli/**', '**/extension/**', '**/evals/**'],
    'src/protocol and src/shared are the bottom layer: they import nothing of the project above them.'),
  layer(['src/core/**/*.ts'], ['../../backend/**', '../../../backend/**', '../../cli/**', '../../../cli/**', '../../extension/**', '../../../extension/**'],
    'src/core must not import the backend, the CLI or the extension: local models reach it through src/protocol/localModel.ts.'),
  layer(['src/backend/**/*.ts'], ['../core/**', '../../core/**', '../../../core/**', '**/cli/**', '**/extension/**'],
    'src/backend must not import src/core, the CLI or the extension: what both need lives in src/protocol or src/shared.'),
  layer(['src/cli/**/*.ts', 'src/evals/**/*.ts'], ['**/extension/**'], 'the CLI and the evals must not import the extension.'),
  layer(['src/api/**/*.ts'], ['**/cli/**', '**/extension/**'], 'the library API sits beside the CLI: it imports neither the CLI nor the extension.'),
  // The extension's logic that needs no VS Code host (view models, layout, token alignment, hunks): unit-tested as is.
  {
    files: ['src/extension/pure/*/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'src/extension/pure needs no VS Code host.' }],
        // From pure/<feature>/x.ts, "../../<dir>" is the rest of the extension; "../../../" is src/ (core, protocol).
        patterns: [{ regex: '^\\.\\./\\.\\./(?!\\.\\./)', message: 'src/extension/pure may import src/core, src/protocol and itself, not the rest of the extension.' }],
      }],
    },
  },
);

/** no-restricted-imports for a folder: never vscode, and none of `forbidden` (import-path globs). */
function layer(files, forbidden, message) {
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'only src/extension imports vscode.' }],
        patterns: [{ group: forbidden, message }],
      }],
    },
  };
}
