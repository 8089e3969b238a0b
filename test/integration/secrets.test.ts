/**
 * Issue 11: secrets. A canary value is set through stdin and then looked for
 * everywhere it must not be: argv of every process, logs, events, --json
 * output, the state database, docker labels.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents, setSecret } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) {
    await gantry(['stop'], { cwd: d });
    killAgents(d);
  }
});

const sha = (v: string): string => createHash('sha256').update(v).digest('hex');

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const st = statSync(full, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...allFiles(full));
    else if (st.isFile()) out.push(full);
  }
  return out;
}

function cmdlines(): string {
  let all = '';
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      all += readFileSync(`/proc/${pid}/cmdline`, 'latin1') + '\n';
    } catch {
      /* gone */
    }
  }
  return all;
}

function manifest(dir: string, extra = ''): void {
  writeFileSync(join(dir, 'gantry.yaml'), ['app: hello-node', 'run: { command: node server.js, instances: 2 }', 'secrets: [API_TOKEN]', 'env: { HASH_SECRET: API_TOKEN, GREETING: hi }', 'strategy: { type: rolling, watch: 0s }', extra, 'targets: { local: { type: process } }'].join('\n'));
}

describe('secrets on the process target', () => {
  it('a missing secret stops the deploy (exit 2, the set command as hint); once set, the app sees it and the value leaks nowhere', async () => {
    const dir = copyExample('hello-node');
    dirs.push(dir);
    manifest(dir);
    const canary = `canary-${Math.random().toString(36).slice(2)}-s3cr3t`;
    const outputs: string[] = [];

    const missing = await gantry(['deploy', '--json'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.json.error.code).toBe('SECRET_MISSING');
    expect(missing.json.error.hint).toBe('printf %s VALUE | gantry secrets set API_TOKEN');
    const st0 = await gantry(['status', '--json'], { cwd: dir });
    expect(st0.json.targets[0].state).toBe('needs_secrets');
    const inArgv = await gantry(['secrets', 'set', 'API_TOKEN', canary, '--json'], { cwd: dir });
    expect(inArgv.code).toBe(2);
    expect(inArgv.json.error.message).toMatch(/stdin only/);

    const set = await setSecret(dir, 'API_TOKEN', canary + '\n');
    expect(set.code, set.stderr).toBe(0);
    outputs.push(set.stdout, set.stderr);
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    outputs.push(d.stdout, d.stderr);
    expect(d.code, d.stdout).toBe(0);
    expect((await getJson(d.json.url + '/secret-sha256')).sha256).toBe(sha(canary));

    for (const args of [['status', '--json'], ['logs', '-n', '200', '--json'], ['events', '-n', '500', '--json'], ['releases', '--json'], ['history', '--json'], ['secrets', 'list', '--json'], ['secrets', 'verify', '--json'], ['plan', '--json'], ['logs', '-n', '200']]) {
      const r = await gantry(args, { cwd: dir });
      outputs.push(r.stdout, r.stderr);
    }
    expect(outputs.join('\n')).not.toContain(canary);
    expect(cmdlines()).not.toContain(canary);
    // No file under .gantry holds the value in plaintext: state.db (and its WAL), logs, agent state, release dirs, secrets.
    for (const f of allFiles(join(dir, '.gantry'))) expect(readFileSync(f).includes(Buffer.from(canary)), f).toBe(false);
    const verify = await gantry(['secrets', 'verify', '--json'], { cwd: dir });
    expect(verify.json).toMatchObject({ ok: true, checks: [{ name: 'API_TOKEN', ok: true }] });
  });

  it('unchanged deploys are a no-op; changing only a secret makes a new release; rollback brings the old value back', async () => {
    const dir = copyExample('hello-node');
    dirs.push(dir);
    manifest(dir);
    await setSecret(dir, 'API_TOKEN', 'first-value');
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code).toBe(0);
    const again = await gantry(['deploy', '--json'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({ unchanged: true, release: first.json.release, reason: 'nothing to deploy' });
    const instancesBefore = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0].instances.map((i: any) => i.id);
    const human = await gantry(['deploy'], { cwd: dir });
    expect(human.stdout).toMatch(/nothing to deploy/);
    const plan = await gantry(['plan', '--json'], { cwd: dir });
    expect(plan.json).toMatchObject({ nothing_to_do: true, steps: [] });
    expect((await gantry(['status', '--json'], { cwd: dir })).json.targets[0].instances.map((i: any) => i.id)).toEqual(instancesBefore);

    await setSecret(dir, 'API_TOKEN', 'second-value');
    const plan2 = await gantry(['plan', '--json'], { cwd: dir });
    expect(plan2.json.nothing_to_do).toBe(false);
    const second = await gantry(['deploy', '--json'], { cwd: dir });
    expect(second.code).toBe(0);
    expect(second.json.release).not.toBe(first.json.release);
    expect((await getJson(second.json.url + '/secret-sha256')).sha256).toBe(sha('second-value'));
    const rb = await gantry(['rollback', '--json'], { cwd: dir });
    expect(rb.code, rb.stdout).toBe(0);
    expect(rb.json.release).toBe(first.json.release);
    expect((await getJson(second.json.url + '/secret-sha256')).sha256).toBe(sha('first-value'));
    const forced = await gantry(['deploy', '--force', '--json'], { cwd: dir });
    expect(forced.json.unchanged).toBeUndefined();
    expect(forced.json.status).toBe('succeeded');
  });

  it('a wrong identity and a tampered secret file are clear errors naming the file; nothing changes', async () => {
    const dir = copyExample('hello-node');
    dirs.push(dir);
    manifest(dir);
    await setSecret(dir, 'API_TOKEN', 'value-1');
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code).toBe(0);
    const { generateX25519Identity } = await import('age-encryption');
    const wrong = await gantry(['deploy', '--force', '--json'], { cwd: dir, env: { GANTRY_AGE_IDENTITY: await generateX25519Identity() } });
    expect(wrong.code).toBe(1);
    expect(wrong.json.error.code).toBe('SECRET_DECRYPT_FAILED');
    expect(wrong.json.error.message).toMatch(/API_TOKEN\.age.*wrong identity/);
    const file = join(dir, '.gantry/secrets/hello-node/default/API_TOKEN.age');
    const bytes = readFileSync(file);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(file, bytes);
    const tampered = await gantry(['deploy', '--force', '--json'], { cwd: dir });
    expect(tampered.code).toBe(1);
    expect(tampered.json.error.message).toContain(file);
    expect((await gantry(['releases', '--json'], { cwd: dir })).json.filter((r: any) => r.current)[0].release).toBe(d.json.release);
    expect((await getJson(d.json.url + '/secret-sha256')).sha256).toBe(sha('value-1'));
  });
});
