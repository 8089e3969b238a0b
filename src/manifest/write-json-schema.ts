/**
 * Writes schema/gantry.schema.json at the package root. Run after tsc:
 *   node dist/manifest/write-json-schema.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manifestJsonSchema } from './json-schema.js';

const out = fileURLToPath(new URL('../../schema/gantry.schema.json', import.meta.url));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
