/**
 * Issue 20, point 13: `gantry doctor` predicts a docker build that would fail:
 * no pip in the base image of an app with requirements, a package registry the
 * host reaches but a build container does not.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gantry, killAgents } from '../helpers/cli.js';
import { baseImageProblem, cleanupApp, docker } from '../helpers/docker.js';
import { get } from '../helpers/http.js';

const NOPIP = `gantry-test-nopip:${process.pid}`;
const WITHPIP = `gantry-test-withpip:${process.pid}`;
const NPM_APP = `d2b-npmca-${process.pid}`;
/** The npm app's directory: its local agent (the docker target's proxy) is stopped at the end. */
let npmDir: string | undefined;
afterAll(async () => {
  if (npmDir) killAgents(npmDir);
  if (!baseImageProblem) for (const i of [NOPIP, WITHPIP]) await docker.getImage(i).remove({ force: true }).catch(() => undefined);
  if (!baseImageProblem) await cleanupApp(NPM_APP);
});

/** A command's output in a throwaway container of `image`. */
async function inImage(image: string, cmd: string[]): Promise<string> {
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  await docker.run(image, cmd, out, { Entrypoint: [], HostConfig: { AutoRemove: true } });
  return text;
}

/** A local image from a Dockerfile text (no network: both images derive from the local python:3.11-slim). */
async function image(tag: string, dockerfile: string): Promise<void> {
  const ctx = mkdtempSync(join(tmpdir(), 'gantry-img-'));
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
  const stream = await docker.buildImage({ context: ctx, src: ['Dockerfile'] }, { t: tag });
  const out = await new Promise<Array<{ error?: string }>>((res, rej) => docker.modem.followProgress(stream, (e: Error | null, o: Array<{ error?: string }>) => (e ? rej(e) : res(o))));
  const failed = out.find((m) => m.error);
  if (failed) throw new Error(failed.error);
}

function app(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-doctorbuild-'));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  writeFileSync(join(dir, 'gantry.yaml'), `app: d2b-doctor-${process.pid}\nrun: { command: "python3 app.py", port: 3000 }\ntargets:\n  box: { type: docker }\n`);
  return dir;
}

const check = (r: any, name: string) => r.json.checks.find((c: any) => c.name === name);

describe('doctor predicts a failed docker build (issue 20, point 13)', () => {
  (baseImageProblem ? it.skip : it)(`the Python base image must have pip when requirements.txt lists packages${baseImageProblem ? ` (skipped: ${baseImageProblem})` : ''}`, async () => {
    // Without pip (as some slim or distro images are), and with a (stub) pip module that answers --version.
    // (The image's Python decides the folder: ask it, so the test holds for the official image and a Debian-based one.)
    const site = '$(python3 -c "import site,sys; print((site.getsitepackages() or sys.path)[0])")';
    await image(NOPIP, `FROM python:3.11-slim\nRUN rm -rf ${site}/pip ${site}/pip-*\n`);
    await image(WITHPIP, `FROM python:3.11-slim\nRUN mkdir -p ${site}/pip && touch ${site}/pip/__init__.py && echo 'print("pip 24.0 (stub)")' > ${site}/pip/__main__.py\n`);
    const bad = app({ 'requirements.txt': 'requests==2.32.3\n', 'app.py': 'print(1)\n', Dockerfile: `FROM ${NOPIP}\nCOPY . .\nRUN pip install -r requirements.txt\n` });
    const r = await gantry(['doctor', '--json'], { cwd: bad });
    expect(r.code).toBe(1);
    expect(check(r, 'docker: pip in the base image')).toMatchObject({ ok: false, detail: expect.stringContaining(`${NOPIP} has no pip`), hint: expect.stringContaining('python:3.11-slim') });

    const good = app({ 'requirements.txt': 'requests==2.32.3\n', 'app.py': 'print(1)\n', Dockerfile: `FROM ${WITHPIP}\nCOPY . .\nRUN pip install -r requirements.txt\n` });
    const g = await gantry(['doctor', '--json'], { cwd: good });
    expect(check(g, 'docker: pip in the base image')).toMatchObject({ ok: true, detail: `${WITHPIP}: pip 24.0 (stub)` });

    // A stdlib-only app installs nothing: no check to fail.
    const none = app({ 'app.py': 'print(1)\n' });
    const n = await gantry(['doctor', '--json'], { cwd: none });
    expect(check(n, 'docker: pip in the base image')).toBeUndefined();
  }, 180_000);

  (baseImageProblem ? it.skip : it)(`a Node app with dependencies: the npm registry is tried from a container of the base image${baseImageProblem ? ` (skipped: ${baseImageProblem})` : ''}`, async () => {
    const dir = app({ 'package.json': JSON.stringify({ name: 'x', dependencies: { ms: '2.1.3' } }), 'server.js': 'console.log(1)\n' });
    const r = await gantry(['doctor', '--json'], { cwd: dir });
    const c = check(r, 'docker: npm registry from a build');
    expect(c).toBeDefined();
    // Whichever way this machine's network is, the verdict explains itself: a failure says what the build would hit and how to fix it.
    if (!c.ok) {
      expect(c.detail).toMatch(/this host reaches .* but a container of node:20-bookworm-slim does not .*`npm ci` would fail in the build/);
      expect(c.hint).toBeTruthy();
      expect(r.code).toBe(1);
    } else expect(c.detail).toMatch(/reaches|not checked/);
  }, 120_000);

  (baseImageProblem ? it.skip : it)(`a build that installs from the npm registry gets the host's CA and npm settings in a build-only stage: it works here, and the final image holds neither${baseImageProblem ? ` (skipped: ${baseImageProblem})` : ''}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-npmca-'));
    npmDir = dir;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'npmca', version: '1.0.0', dependencies: { ms: '2.1.3' } }));
    writeFileSync(join(dir, 'server.js'), 'const ms=require("ms");require("http").createServer((q,s)=>{s.setHeader("content-type","application/json");s.end(JSON.stringify({ms:ms(60000),release:process.env.GANTRY_RELEASE}))}).listen(process.env.PORT);\n');
    writeFileSync(join(dir, 'gantry.yaml'), `app: ${NPM_APP}\nbuild: { command: "npm install --omit=dev --no-audit --no-fund" }\nrun: { command: "node server.js", port: 3000 }\nhealth: { path: /, interval: 500ms, start_period: 60s }\nstrategy: { watch: 0s }\ntargets:\n  box: { type: docker }\n`);
    const d = await gantry(['deploy', '--json'], { cwd: dir, timeoutMs: 300_000 });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(JSON.parse((await get(d.json.url)).body)).toMatchObject({ ms: '1m' });
    const image = `gantry/${NPM_APP}:${d.json.release}`;
    // Nothing of the host's settings in the final image: no files, no variables, no history line.
    const look = await inImage(image, ['sh', '-c', 'ls -a /app; test -e /gantry-build && echo HAS-SETTINGS-DIR; env']);
    expect(look).toContain('node_modules');
    expect(look).not.toMatch(/gantry-build|HAS-SETTINGS-DIR|NODE_EXTRA_CA_CERTS|NPM_CONFIG_USERCONFIG|npmrc/i);
    const info = await docker.getImage(image).inspect();
    expect(JSON.stringify(info.Config.Env)).not.toMatch(/CA_CERTS|USERCONFIG|PIP_CERT/);
    expect(JSON.stringify(await docker.getImage(image).history())).not.toMatch(/BEGIN CERTIFICATE|gantry-build\/ca/);
  }, 360_000);
});
