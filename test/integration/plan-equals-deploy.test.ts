/**
 * Issue 15: `gantry plan --json` prints exactly the steps the following deploy
 * records, hooks included. Ids are compared where deterministic: a release id
 * carries its creation time and an instance id a nonce, so those are matched by
 * position (the same release and the same instance in the same places).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) {
    await gantry(['stop', '--json'], { cwd: dir }).catch(() => undefined);
    killAgents(dir);
  }
});

/** Replace every id by a placeholder numbered in order of first appearance, kind by kind. */
function normalise(steps: unknown[], ids: { releases: string[]; instances: string[] }): unknown[] {
  const text = JSON.stringify(steps);
  let out = text;
  ids.releases.forEach((id, i) => (out = out.split(id).join(`<release ${i}>`)));
  ids.instances.forEach((id, i) => (out = out.split(id).join(`<instance ${i}>`)));
  return JSON.parse(out);
}

function idsOf(steps: Array<Record<string, unknown>>): { releases: string[]; instances: string[] } {
  const releases: string[] = [];
  const instances: string[] = [];
  const add = (list: string[], v: unknown) => typeof v === 'string' && !list.includes(v) && list.push(v);
  for (const s of steps) {
    add(releases, s.release);
    add(instances, s.instance);
    for (const r of (s.routes as Array<{ instance: string; release: string }> | undefined) ?? []) {
      add(instances, r.instance);
      add(releases, r.release);
    }
    for (const i of (s.instances as string[] | undefined) ?? []) add(instances, i);
  }
  return { releases, instances };
}

describe('plan is the deploy', () => {
  it('plan --json equals the steps recorded by the deploy that follows, hooks included', async () => {
    const dir = copyExample('hello-node');
    dirs.push(dir);
    const file = join(dir, 'gantry.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('targets:', 'hooks:\n  pre_deploy: "echo before"\n  post_deploy: "echo after"\n\ntargets:'));
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);

    writeFileSync(file, readFileSync(file, 'utf8').replace(/GREETING: .*/, 'GREETING: planned'));
    const plan = await gantry(['plan', '--json'], { cwd: dir });
    expect(plan.code, plan.stderr).toBe(0);
    const planned = plan.json.steps as Array<Record<string, unknown>>;
    expect(planned.map((s) => s.kind)).toContain('hook');

    const deploy = await gantry(['deploy', '--json'], { cwd: dir });
    expect(deploy.code, deploy.stderr).toBe(0);
    const history = await gantry(['history', '--json'], { cwd: dir });
    const recorded = (history.json as Array<{ id: string; plan: Array<Record<string, unknown>> }>).find((d) => d.id === deploy.json.id)!.plan;

    expect(recorded.length).toBe(planned.length);
    expect(normalise(recorded, idsOf(recorded))).toEqual(normalise(planned, idsOf(planned)));
    // The instances serving before are the same ids in both (deterministic: they exist already).
    const old = first.json.release;
    expect(JSON.stringify(planned)).toContain(old);
    expect(JSON.stringify(recorded)).toContain(old);
  });
});
