/**
 * Where `gantry env set` keeps values: one JSON file per app and environment
 * under the state dir (`env/<app>/<env>.json`, 0600; `default` without --env).
 * An environment's values are its own over the default ones, like the manifest's
 * overlays. Not secrets (those stay in the age store), but not world-readable either.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError } from '../core/errors.js';
import { assertSafeSegment } from '../core/names.js';

const DEFAULT_SCOPE = 'default';

export class EnvStore {
  constructor(private readonly stateDir: string) {}

  private file(app: string, env: string | undefined): string {
    return join(this.stateDir, 'env', assertSafeSegment('app name', app), `${assertSafeSegment('environment', env ?? DEFAULT_SCOPE)}.json`);
  }

  /** The values of one scope only (what `set`/`unset` change). */
  own(app: string, env: string | undefined): Record<string, string> {
    const f = this.file(app, env);
    if (!existsSync(f)) return {};
    try {
      const v = JSON.parse(readFileSync(f, 'utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<string, string>;
    } catch {
      /* reported below */
    }
    throw new GantryError('INTERNAL', `${f} is not a JSON object of strings`, 'fix or delete the file, then set the values again with `gantry env set`');
  }

  /** What applies to a deploy with this --env: the default values, then the environment's own. */
  effective(app: string, env: string | undefined): Record<string, string> {
    return env === undefined ? this.own(app, undefined) : { ...this.own(app, undefined), ...this.own(app, env) };
  }

  /** Write one scope's values atomically (rename), 0600. */
  write(app: string, env: string | undefined, values: Record<string, string>): void {
    const f = this.file(app, env);
    if (Object.keys(values).length === 0) {
      rmSync(f, { force: true });
      return;
    }
    mkdirSync(join(f, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${f}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, f);
  }

  /** `gantry destroy` of the app's last target: every scope's values go. True when there were any. */
  removeApp(app: string): boolean {
    const dir = join(this.stateDir, 'env', assertSafeSegment('app name', app));
    if (!existsSync(dir)) return false;
    rmSync(dir, { recursive: true, force: true });
    return true;
  }
}
