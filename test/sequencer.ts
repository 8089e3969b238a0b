import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that run longest yet are small on disk. Without the results of an earlier run (a fresh
 * clone, CI) vitest starts the largest files first, so these would start last and stretch the
 * wall time by the length of the longest: they go first, longest first.
 */
const LONG_FIRST = ['test/conformance/ssh.test.ts', 'test/conformance/docker.test.ts', 'test/conformance/process.test.ts'];

export default class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = LONG_FIRST.findIndex((p) => f.moduleId.endsWith(`/${p}`));
      return i < 0 ? LONG_FIRST.length : i;
    };
    // Array.prototype.sort is stable: within a project, the rest keep vitest's own order.
    return sorted.sort((a, b) => (a.project.name === b.project.name ? rank(a) - rank(b) : 0));
  }
}
