/** Issue 20, point 12: `gantry init` fits the app (its health route, no venv for a stdlib Python app, commented persist/secrets/watch), and an empty folder is refused. */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { gantry, killAgents } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) {
    await gantry(['stop'], { cwd: d });
    killAgents(d);
  }
});

const folder = (name: string): string => {
  const dir = join(mkdtempSync(join(tmpdir(), 'gantry-initfit-')), name);
  mkdirSync(dir);
  dirs.push(dir);
  return dir;
};

describe('gantry init fits the app (issue 20, point 12)', () => {
  it('finds the health route in the source (/healthz) and writes commented persist, secrets and watch lines; it deploys', async () => {
    const dir = folder('ping-node');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'ping-node', main: 'index.js' }));
    writeFileSync(join(dir, 'index.js'), "require('node:http').createServer((q, s) => { s.writeHead(q.url === '/healthz' ? 200 : 404); s.end('ok'); }).listen(process.env.PORT, process.env.HOST);\n");
    const r = await gantry(['init', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.health).toEqual({ path: '/healthz', found: 'index.js' });
    const text = readFileSync(join(dir, 'gantry.yaml'), 'utf8');
    expect(parse(text).health.path).toBe('/healthz');
    expect(text).toMatch(/^# persist: \[data\]/m);
    expect(text).toMatch(/^# secrets: \[DATABASE_URL\]/m);
    expect(text).toMatch(/^ {2}# watch: 10s/m);
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
  });

  it('a stdlib-only Python app (an empty requirements.txt) gets no venv or pip build', async () => {
    const dir = folder('stdlib-py');
    writeFileSync(join(dir, 'requirements.txt'), '# nothing: the standard library only\n');
    writeFileSync(join(dir, 'main.py'), 'import http.server, os, json\nclass H(http.server.BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200 if self.path in ("/up", "/") else 404)\n        self.end_headers()\n        self.wfile.write(json.dumps({"ok": True}).encode())\nhttp.server.HTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ["PORT"])), H).serve_forever()\n');
    const r = await gantry(['init', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ runtime: 'python', build: null, command: 'python3 main.py', health: { path: '/up', found: 'main.py' } });
    expect(readFileSync(join(dir, 'gantry.yaml'), 'utf8')).not.toMatch(/venv|pip/);
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(await getJson(`${d.json.url}/`)).toEqual({ ok: true });
  });

  it('with requirements, the venv build stays; without a route found, / is checked and the file says so', async () => {
    const dir = folder('deps-py');
    writeFileSync(join(dir, 'requirements.txt'), 'flask==3.0.0\n');
    writeFileSync(join(dir, 'app.py'), 'print("hi")\n');
    const r = await gantry(['init', '--json'], { cwd: dir });
    expect(r.json).toMatchObject({ build: 'python3 -m venv .venv && .venv/bin/pip install -r requirements.txt', health: { path: '/', found: null } });
    expect(readFileSync(join(dir, 'gantry.yaml'), 'utf8')).toMatch(/path: \/ +# no health route found in the source/);
  });

  it('an empty folder is refused with a clear message, and nothing is written', async () => {
    const dir = folder('empty');
    writeFileSync(join(dir, '.gitignore'), '.gantry/\n');
    const r = await gantry(['init', '--json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/is empty: there is no app here/) });
    expect(existsSync(join(dir, 'gantry.yaml'))).toBe(false);
  });
});
