import type { Command } from 'commander';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { DoctorCheck } from '../../engine/index.js';
import { registry } from '../../registry/index.js';
import { IDENTITY_FILE, secretsDir } from '../../secrets/paths.js';
import { manifestPath, openSession, stateDirFor } from '../context.js';
import { ensureStateDir, gitTracks, gitWorkTree } from '../git-guard.js';
import { c } from '../output.js';
import { run, withGlobals } from './common.js';

export function registerDoctor(program: Command): void {
  withGlobals(program.command('doctor'))
    .description('what each target needs on this machine, what is missing and how to fix it')
    .action(
      run(async (opts, out) => {
        const stateDir = stateDirFor(manifestPath(opts));
        const checks: DoctorCheck[] = [];
        const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
        checks.push({ name: 'node', ok: major > 20 || (major === 20 && minor >= 18), detail: `v${process.versions.node}`, hint: 'install Node.js 20.18 or newer' });
        try {
          const db = new Database(':memory:');
          checks.push({ name: 'sqlite (better-sqlite3)', ok: true, detail: `SQLite ${(db.prepare('select sqlite_version() v').get() as { v: string }).v}` });
          db.close();
        } catch (e) {
          checks.push({ name: 'sqlite (better-sqlite3)', ok: false, detail: (e as Error).message, hint: 'reinstall with `npm ci` (needs python3, make and g++ to build the addon)' });
        }
        try {
          ensureStateDir(stateDir);
          mkdirSync(stateDir, { recursive: true });
          accessSync(stateDir, constants.W_OK);
          checks.push({ name: 'state directory', ok: true, detail: `${stateDir} is writable${existsSync(join(stateDir, 'state.db')) ? ' (state.db present)' : ''}` });
        } catch (e) {
          checks.push({ name: 'state directory', ok: false, detail: `${stateDir}: ${(e as Error).message}`, hint: 'set GANTRY_HOME to a writable directory' });
        }
        const identity = join(secretsDir(stateDir), IDENTITY_FILE);
        if (gitTracks(identity)) {
          checks.push({ name: 'secrets identity not in git', ok: false, detail: `${identity} is tracked by git: anyone with the repository can decrypt every secret`, hint: `git rm --cached ${identity} and add ".gantry/" to .gitignore, then make a new identity and set every secret again (the committed key stays in the history)` });
        } else if (gitWorkTree(dirname(stateDir))) {
          checks.push({ name: 'secrets identity not in git', ok: true, detail: 'not tracked by git' });
        }
        // The manifest's targets check what they point at (each ssh host...); the other types this machine only.
        const checked = new Set<string>();
        if (existsSync(manifestPath(opts))) {
          const s = openSession(opts);
          try {
            const r = await s.engine.doctor(s.loaded);
            r.types.forEach((t) => checked.add(t));
            checks.push(...r.checks);
          } finally {
            s.close();
          }
        }
        for (const type of registry.types().filter((t) => !checked.has(t))) checks.push(...(await (await registry.load(type))!.doctor({ stateDir })));
        const ok = checks.every((ch) => ch.ok);
        out.result({ ok, checks }, () => [...checks.map((ch) => `${ch.ok ? c.green('✓') : c.red('✗')} ${ch.name}: ${ch.detail}${!ch.ok && ch.hint ? c.dim(` (fix: ${ch.hint})`) : ''}`), ok ? c.green('all good') : c.red('some checks failed')]);
        return ok ? 0 : 1;
      }),
    );
}
