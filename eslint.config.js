// Lint, including the architecture boundaries of DESIGN.md: a break fails CI.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
const rule = (regex, message) => ({ regex, message });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'examples/**', 'bench/results/**', '.gantry/**', '**/.gantry/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: restrict([
      rule('(^|/)(targets|cli|server|registry|agent|proxy|supervisor)(/|$)', 'The engine imports no target, no face and no target helper: targets are reached through the TargetRegistry (DESIGN.md, boundaries).'),
    ]),
  },
  {
    files: ['src/targets/**/*.ts'],
    rules: restrict([
      rule('(^|/)(cli|server|registry)(/|$)', 'A target never imports the CLI, the server or the registry (DESIGN.md, boundaries).'),
      rule('^\\.\\./(?!\\.\\./)[^/]+', 'A target never imports another target (DESIGN.md, boundaries).'),
    ]),
  },
  {
    files: ['src/cli/**/*.ts', 'src/server/**/*.ts'],
    rules: restrict([rule('(^|/)targets(/|$)', 'Faces import the engine and the registry, never a target directly (DESIGN.md, boundaries).')]),
  },
  {
    files: ['src/manifest/**/*.ts', 'src/store/**/*.ts', 'src/core/**/*.ts'],
    rules: restrict([rule('(^|/)(engine|targets|cli|server|registry|agent)(/|$)', 'Lower layers (core, manifest, store) import nothing above them.')]),
  },
);
