import { join } from 'node:path';
import { assertSafeSegment } from '../../core/names.js';

/** Where the process target keeps releases, logs and its agent, under the state dir. */
export function processPaths(stateDir: string, app: string, target: string) {
  const appDir = join(stateDir, 'apps', assertSafeSegment('app name', app));
  return {
    appDir,
    releasesDir: join(appDir, 'releases'),
    currentLink: join(appDir, 'current'),
    sharedDir: join(appDir, 'shared'),
    logsDir: join(appDir, 'logs'),
    agentDir: join(appDir, 'agents', assertSafeSegment('target name', target)),
  };
}
