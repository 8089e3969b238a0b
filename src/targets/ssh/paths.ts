import { join } from 'node:path';
import { assertSafeSegment } from '../../core/names.js';

/** Where the ssh target keeps the releases it builds locally before sending them, under the state dir. */
export function sshLocalPaths(stateDir: string, app: string, target: string) {
  const dir = join(stateDir, 'ssh', assertSafeSegment('app name', app), assertSafeSegment('target name', target));
  return { dir, releasesDir: join(dir, 'releases'), sharedDir: join(dir, 'shared') };
}
