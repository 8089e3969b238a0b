/**
 * The targets the conformance suite runs against: one entry per registered
 * target type (src/registry/). Adding a target (ssh, kubernetes, ...) is one
 * entry here: its manifest `targets:` fragment, why it cannot run on this
 * machine (undefined when it can) and what to remove after the run that does
 * not live under the app's own directory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseImageProblem, cleanupApp, removeAppVolumes } from '../helpers/docker.js';
import { sshHostsProblem, startSshHosts, type TestHosts } from '../helpers/ssh-hosts.js';

export interface TargetUnderTest {
  /** The registered target type. */
  type: string;
  /** App name unique to the conformance suite (other suites clean up docker objects by their own app labels). */
  app: string;
  /** The target's entry under `targets:`, as a YAML flow mapping (after setup). */
  config: () => string;
  /** What the access URL of a deploy looks like. */
  url: RegExp;
  /** Why this target cannot run here; the skipped tests carry it in their names. */
  problem: string | undefined;
  /** Bring up what the target deploys to (hosts), before the scenarios. */
  setup?: () => Promise<void>;
  /** Remove what the target keeps outside the app's directory; runs before and after the scenarios. */
  cleanup: (app: string) => Promise<void>;
}

const LOOPBACK_URL = /^http:\/\/127\.0\.0\.1:\d+$/;
const SSH_PORT = 18_095;
/** The ssh target's one real systemd host (started by its setup). */
let sshHost: TestHosts | undefined;

export const TARGETS: TargetUnderTest[] = [
  {
    type: 'process',
    app: 'conf-process',
    config: () => '{ type: process }',
    url: LOOPBACK_URL,
    problem: undefined,
    // Releases, logs and shared data live under the app's .gantry/; agents are stopped by the suite.
    cleanup: async () => undefined,
  },
  {
    type: 'docker',
    app: 'conf-docker',
    config: () => '{ type: docker }',
    url: LOOPBACK_URL,
    problem: baseImageProblem,
    cleanup: async (app) => {
      if (baseImageProblem) return;
      await cleanupApp(app);
      await removeAppVolumes(app);
    },
  },
  {
    type: 'ssh',
    app: 'conf-ssh',
    config: () => {
      const h = sshHost!;
      return `{ type: ssh, hosts: ["root@${h.hosts[0]!.ip}"], key: "${h.key.file}", known_hosts: "${join(h.dir, 'known_hosts')}", port: ${SSH_PORT} }`;
    },
    url: new RegExp(`^http://\\d+\\.\\d+\\.\\d+\\.\\d+:${SSH_PORT}$`),
    problem: sshHostsProblem,
    setup: async () => {
      sshHost = await startSshHosts(1, { tag: 'conformance' });
      writeFileSync(join(sshHost.dir, 'known_hosts'), sshHost.hosts.map((h) => h.knownHostsLines()).join(''));
    },
    // The host goes with everything on it.
    cleanup: async () => {
      await sshHost?.remove();
      sshHost = undefined;
    },
  },
  {
    type: 'kubernetes',
    app: 'conf-kubernetes',
    // A live cluster (kind, k3s) whose kubeconfig is in GANTRY_TEST_KUBECONFIG; the image must serve the conformance app.
    config: () => `{ type: kubernetes, kubeconfig: "${process.env.GANTRY_TEST_KUBECONFIG}", namespace: gantry-conformance, image: "${process.env.GANTRY_TEST_K8S_IMAGE ?? ''}", ingress: { host: conformance.127.0.0.1.nip.io } }`,
    url: /^https?:\/\/[a-z0-9.-]+/,
    problem: process.env.GANTRY_TEST_KUBECONFIG ? (process.env.GANTRY_TEST_K8S_IMAGE ? undefined : 'no GANTRY_TEST_K8S_IMAGE: the conformance app as an image the cluster can pull') : 'no GANTRY_TEST_KUBECONFIG: no Kubernetes API server can run here',
    // The namespace holds everything the release created; deleting the helm release is left to the cluster's owner.
    cleanup: async () => undefined,
  },
];
