// Lint. The architecture boundaries of DESIGN.md are checked by dependency-cruiser
// (.dependency-cruiser.cjs, run by `npm run lint` after eslint): a break fails CI.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['.dependency-cruiser.cjs', 'dist/**', 'node_modules/**', 'coverage/**', 'examples/**', 'bench/results/**', '.gantry/**', '**/.gantry/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The dashboard runs in a browser: its globals are checked by tsc (web/tsconfig.json, lib DOM), not by name here.
  {
    files: ['web/**/*.{ts,tsx}'],
    rules: { 'no-undef': 'off' },
  },
  // The launcher is CommonJS (bin/package.json): Node starts a CommonJS main sooner.
  {
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', performance: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
