// Lint: typescript-eslint's recommended rules, plus the project's API boundary: code under
// plugins/ and examples/ reaches the engine only through its public modules ('tessera',
// 'tessera/kernels', 'tessera/image', 'tessera/<plugin>'), never through relative paths into
// core/, kernels/ or another plugin's folder; core/ never imports plugins/ or app/.
// test/architecture/dependencies.test.ts checks the same rules on the resolved import graph.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const boundary = {
  patterns: [
    {
      regex: '^(\\.\\./)+(core|kernels)(/|$)',
      message: "Plugins import the engine only through its public modules: 'tessera', 'tessera/kernels', 'tessera/image'.",
    },
  ],
};

/** A relative import that climbs out of a plugin's own folder, from a file `depth` folders deep in it. */
const leavesPlugin = (depth) => ({
  regex: `^(\\.\\./){${depth}}[^.]`,
  message: "A plugin imports another plugin only through its public module ('tessera/<name>'), never its files.",
});
const pluginRules = (depth) => ({ 'no-restricted-imports': ['error', { patterns: [...boundary.patterns, leavesPlugin(depth)] }] });

export default tseslint.config(
  { ignores: ['node_modules/**', '**/node_modules/**', 'ui/dist/**', 'runs/**', '.gpu/**', '**/dist/**', 'test/.artifacts/**', 'docs/api/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', performance: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', setImmediate: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', window: 'readonly', document: 'readonly', fetch: 'readonly', WebSocket: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['plugins/**/*.ts', 'examples/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', boundary] },
  },
  // CommonJS config files (dependency-cruiser reads .cjs).
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
  { files: ['plugins/*/*.ts'], rules: pluginRules(1) },
  { files: ['plugins/*/*/*.ts'], rules: pluginRules(2) },
  { files: ['plugins/*/*/*/*.ts'], rules: pluginRules(3) },
  {
    files: ['core/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+(plugins|app)(/|$)', message: 'core/ never imports plugins/ or app/: the composition root (app/) wires the built-ins.' }] }] },
  },
);
