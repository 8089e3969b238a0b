/**
 * The targets the conformance suite runs against: one entry per registered
 * target type (src/registry/). Adding a target (ssh, kubernetes, ...) is one
 * entry here: its manifest `targets:` fragment, why it cannot run on this
 * machine (undefined when it can) and what to remove after the run that does
 * not live under the app's own directory.
 */
import { baseImageProblem, cleanupApp, removeAppVolumes } from '../helpers/docker.js';

export interface TargetUnderTest {
  /** The registered target type. */
  type: string;
  /** App name unique to the conformance suite (other suites clean up docker objects by their own app labels). */
  app: string;
  /** The target's entry under `targets:`, as a YAML flow mapping. */
  config: string;
  /** Why this target cannot run here; the skipped tests carry it in their names. */
  problem: string | undefined;
  /** Remove what the target keeps outside the app's directory; runs before and after the scenarios. */
  cleanup: (app: string) => Promise<void>;
}

export const TARGETS: TargetUnderTest[] = [
  {
    type: 'process',
    app: 'conf-process',
    config: '{ type: process }',
    problem: undefined,
    // Releases, logs and shared data live under the app's .gantry/; agents are stopped by the suite.
    cleanup: async () => undefined,
  },
  {
    type: 'docker',
    app: 'conf-docker',
    config: '{ type: docker }',
    problem: baseImageProblem,
    cleanup: async (app) => {
      if (baseImageProblem) return;
      await cleanupApp(app);
      await removeAppVolumes(app);
    },
  },
];
