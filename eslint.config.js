// ESLint (flat config): typescript-eslint's recommended rules on src/, test/,
// bench/ and scripts/, and the house rule that keeps the core pure: nothing
// under src/core/ may reach the file system, the network, other processes or
// the environment (those are adapters' work, handed in through ports).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const IMPURE = ['fs', 'fs/promises', 'net', 'tls', 'http', 'https', 'http2', 'dgram', 'dns', 'child_process', 'cluster', 'worker_threads', 'os', 'process'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'test-output/', '.bench/', '.prof/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        URLSearchParams: 'readonly',
        NodeJS: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      // A sanitizer matches control characters on purpose (NUL, ESC, C0 in headers and text).
      'no-control-regex': 'off',
      // Japanese text in comments, strings and templates may hold U+3000 (ideographic space) on purpose.
      'no-irregular-whitespace': ['error', { skipComments: true, skipStrings: true, skipTemplates: true, skipRegExps: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: IMPURE.flatMap((m) => [m, `node:${m}`]).map((name) => ({
            name,
            message: 'src/core is pure: file system, network, processes and the environment belong to adapters, handed in through ports.',
          })),
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'src/core is pure: read configuration at the edge and pass it in.' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'src/core is pure: read the environment at the edge and pass it in.' }],
    },
  },
);
