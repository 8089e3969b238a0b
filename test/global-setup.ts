import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The integration tests run the built CLI: fail early and clearly when it is missing. */
export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does it)');
}
