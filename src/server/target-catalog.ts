/**
 * What the dashboard's platform grid shows for each target type: its summary and
 * capabilities, the JSON Schema of its config (generated from the zod schema the
 * manifest validates with, so the forms and the validator never disagree), and
 * its doctor checks on this server (what it needs and whether that is met). Doctor
 * runs are cached for a short while and each is bounded in time.
 */
import { z } from 'zod';
import type { DoctorCheck } from '../engine/index.js';
import { registry } from '../registry/index.js';

export interface TargetEntry {
  type: string;
  summary: string;
  capabilities: unknown;
  /** Every doctor check met (a target with none is ready). */
  ready: boolean;
  prerequisites: DoctorCheck[];
  config_schema: Record<string, unknown>;
}

/** The input side of a target's config schema (what a manifest may write), without `type`. */
export function configJsonSchema(type: string): Record<string, unknown> | undefined {
  const schema = registry.configSchema(type);
  if (!schema) return undefined;
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

async function doctorOf(type: string, stateDir: string, timeoutMs: number): Promise<DoctorCheck[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DoctorCheck[]>((resolve) => {
    timer = setTimeout(() => resolve([{ name: `${type} doctor`, ok: false, detail: `no answer within ${timeoutMs / 1000}s`, hint: `run \`gantry doctor\` on the server to see what hangs` }]), timeoutMs);
  });
  try {
    const run = (async () => (await registry.load(type))!.doctor({ stateDir }))().catch((err: Error): DoctorCheck[] => [{ name: `${type} doctor`, ok: false, detail: err.message }]);
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class TargetCatalog {
  private cached?: { at: number; entries: Promise<TargetEntry[]> };

  constructor(
    private readonly stateDir: string,
    private readonly opts: { cacheMs: number; timeoutMs: number },
  ) {}

  list(): Promise<TargetEntry[]> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < this.opts.cacheMs) return this.cached.entries;
    const entries = Promise.all(
      registry.types().map(async (type): Promise<TargetEntry> => {
        const d = registry.describe(type)!;
        const prerequisites = await doctorOf(type, this.stateDir, this.opts.timeoutMs);
        return { type, summary: d.summary, capabilities: d.capabilities, ready: prerequisites.every((c) => c.ok), prerequisites, config_schema: configJsonSchema(type) ?? {} };
      }),
    );
    this.cached = { at: now, entries };
    entries.catch(() => (this.cached = undefined));
    return entries;
  }
}
