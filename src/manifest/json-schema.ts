/** The published JSON Schema of gantry.yaml (input side: what may be written), for editors. */
import { z } from 'zod';
import { ManifestSchema } from './schema.js';

export function manifestJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ManifestSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, description: _description, ...rest } = generated;
  return {
    $schema: $schema ?? 'https://json-schema.org/draft/2020-12/schema',
    title: 'Gantry manifest (gantry.yaml)',
    description: 'What the app is, how to build, run, health-check and deploy it, and where. Durations are strings like "500ms", "30s", "5m", "1h" or a number of seconds; ${VAR} and ${VAR:-default} are replaced from the environment.',
    ...rest,
  };
}
