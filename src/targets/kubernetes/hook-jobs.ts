/**
 * The manifest's hooks as Helm hook Jobs: `pre_deploy` runs before the upgrade
 * changes anything (pre-install,pre-upgrade: its failure fails the upgrade,
 * which --atomic rolls back, so no traffic moves), `post_deploy` after it
 * (post-install,post-upgrade). Each runs the release's image with the app's
 * env and Secret, its command as an argv array (`/bin/sh -c` and the hook as
 * one argument, as the docker target runs it): Gantry builds no shell text
 * from the manifest.
 *
 * A post_deploy that fails is reported in its Job's log and does not fail the
 * upgrade (a broken post_deploy never rolls back a healthy release, as on the
 * other targets): a fixed wrapper script runs the hook, passed as `$1`.
 *
 * What a hook Job needs exists before any hook runs: the env values are written
 * into the Job (a pre-install hook runs before the chart's ConfigMap exists),
 * the Secret is applied by Gantry before helm runs, and the pod runs under the
 * namespace's default ServiceAccount with no token mounted.
 */
import { DEFAULTS } from '../../core/defaults.js';
import type { ChartInput } from './chart-input.js';
import { seconds } from './chart-input.js';
import { meta, names } from './object-names.js';
import { resources } from './pod-template.js';

type Obj = Record<string, unknown>;

export type HookName = 'pre_deploy' | 'post_deploy';
export const HOOK_NAMES: readonly HookName[] = ['pre_deploy', 'post_deploy'];

const HELM_HOOK: Record<HookName, string> = { pre_deploy: 'pre-install,pre-upgrade', post_deploy: 'post-install,post-upgrade' };

/** Runs the hook given as `$1`; its failure is said on stderr and the Job still succeeds. */
export const POST_DEPLOY_WRAPPER = '/bin/sh -c "$1" || echo "gantry: post_deploy exited with code $?; the release stays deployed" >&2';

export const hookJobName = (i: ChartInput, hook: HookName): string => `${i.name.slice(0, 50)}-${hook.replace('_', '-')}`;

/** The Job's container command and arguments: argv arrays, the hook one argument of them. */
export function hookArgv(hook: HookName, command: string): { command: string[]; args: string[] } {
  return hook === 'pre_deploy' ? { command: ['/bin/sh', '-c'], args: [command] } : { command: ['/bin/sh', '-c', POST_DEPLOY_WRAPPER], args: ['gantry-post-deploy', command] };
}

/** The hooks the release declares, each as its Job (not yet gated by the chart's values). */
export function hookJobs(i: ChartInput): Array<{ hook: HookName; job: Obj }> {
  const hooks = i.hooks ?? {};
  return HOOK_NAMES.filter((h) => hooks[h]).map((hook) => {
    const res = resources(i);
    const container: Obj = {
      name: 'hook',
      image: i.image,
      imagePullPolicy: 'IfNotPresent',
      ...hookArgv(hook, hooks[hook]!),
      env: [{ name: 'PORT', value: String(i.port) }, { name: 'GANTRY_RELEASE', value: i.release }, { name: 'GANTRY_HOOK', value: hook }, ...Object.entries(i.env).map(([name, value]) => ({ name, value }))],
      ...(i.secretNames.length ? { envFrom: [{ secretRef: { name: names(i).secrets } }] } : {}),
      ...(res ? { resources: res } : {}),
    };
    const job: Obj = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        ...meta(i, hookJobName(i, hook)),
        annotations: { 'helm.sh/hook': HELM_HOOK[hook], 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded', 'helm.sh/hook-weight': '0' },
      },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: seconds(DEFAULTS.hookTimeoutMs),
        template: {
          // Not the app's instance label: Services, the PDB and Gantry's pod lists leave hook pods out.
          metadata: { labels: { 'app.kubernetes.io/name': i.app, 'gantry.dev/hook': hook.replace('_', '-') }, annotations: { 'gantry.dev/release': i.release } },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            ...(i.config.image_pull_secret ? { imagePullSecrets: [{ name: i.config.image_pull_secret }] } : {}),
            containers: [container],
          },
        },
      },
    };
    return { hook, job };
  });
}
