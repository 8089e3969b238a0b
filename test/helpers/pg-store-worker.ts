import { build } from 'esbuild';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The PostgreSQL state store's worker built from the sources (tests run src/, where the
 * worker is TypeScript a worker thread cannot load): one CommonJS file with pg and synckit inside.
 */
export async function buildPgStoreWorker(): Promise<string> {
  const outfile = join(mkdtempSync(join(tmpdir(), 'gantry-pg-worker-')), 'worker.cjs');
  await build({ entryPoints: [join(ROOT, 'src/store/pg/worker.ts')], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['pg-native', 'pg-cloudflare'], logLevel: 'warning' });
  return outfile;
}
