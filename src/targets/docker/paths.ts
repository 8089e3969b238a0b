import { join } from 'node:path';
import { assertSafeSegment } from '../../core/names.js';

/** The agent hosting this app+target's proxy lives under the state dir, like the process target's. */
export function processPathsForAgent(stateDir: string, app: string, target: string): string {
  return join(stateDir, 'apps', assertSafeSegment('app name', app), 'agents', assertSafeSegment('target name', target));
}
