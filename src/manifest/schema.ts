/**
 * The `gantry.yaml` schema: the single source of truth for validation, the
 * resolved `Manifest` type, defaults, and the published JSON Schema.
 */
import { z } from 'zod';
import { DEFAULTS } from '../core/defaults.js';
import { DURATION_FORMATS, parseDuration } from '../core/duration.js';
import { APP_NAME_RE, SAFE_SEGMENT_RE } from '../core/names.js';

/** Extra help attached to fields, used to write problem messages and hints (not published). */
export interface FieldMeta {
  /** What a valid value looks like, for "expected …, found …". */
  expected?: string;
  /** How to fix a bad value: fixed text, or computed from the bad value. */
  hint?: string | ((value: unknown) => string | undefined);
}
export const fieldMeta = z.registry<FieldMeta>();

function field<T extends z.ZodType>(schema: T, description: string, meta?: FieldMeta): T {
  const described = schema.describe(description);
  if (meta) fieldMeta.add(described, meta);
  return described;
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

// ---------------------------------------------------------------- names

export const ENV_VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const SECRET_NAME_RE = /^[A-Z_][A-Z0-9_]*$/;
export const ENVIRONMENT_NAME_RE = /^[a-z0-9-]+$/;

function slug(v: unknown): string {
  return String(v)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

const AppName = field(
  z.string().regex(APP_NAME_RE, { error: (iss) => `invalid app name ${show(iss.input)}: use 1-63 lowercase letters, digits and "-", starting and ending with a letter or digit` }),
  'Name of the application. It becomes part of paths and container names: 1-63 lowercase letters, digits and "-".',
  {
    hint: (v) => {
      const s = slug(v);
      return s && s !== v ? `did you mean "${s}"? App names use only lowercase letters, digits and "-"` : 'app names use only lowercase letters, digits and "-", e.g. "my-app"';
    },
  },
);

const TargetName = field(
  z.string().regex(SAFE_SEGMENT_RE, { error: (iss) => `invalid target name ${show(iss.input)}: use 1-63 lowercase letters, digits and "-"` }),
  'Target name',
  { hint: (v) => (slug(v) && slug(v) !== v ? `did you mean "${slug(v)}"?` : 'e.g. "local", "staging-box"') },
);

const EnvironmentName = field(
  z.string().regex(ENVIRONMENT_NAME_RE, { error: (iss) => `invalid environment name ${show(iss.input)}: use lowercase letters, digits and "-"` }),
  'Environment name',
  { hint: (v) => (slug(v) && slug(v) !== v ? `did you mean "${slug(v)}"?` : 'e.g. "staging", "production"') },
);

const EnvVarName = field(
  z.string().regex(ENV_VAR_NAME_RE, { error: (iss) => `invalid environment variable name ${show(iss.input)}: use letters, digits and "_", not starting with a digit` }),
  'Environment variable name',
  { hint: (v) => `e.g. ${String(v).replace(/[^A-Za-z0-9_]/g, '_').replace(/^([0-9])/, '_$1') || 'LOG_LEVEL'}` },
);

const SecretName = field(
  z.string().regex(SECRET_NAME_RE, { error: (iss) => `invalid secret name ${show(iss.input)}: use upper-case letters, digits and "_"` }),
  'Name of a secret. Values are set with `gantry secrets set NAME`, never written in this file.',
  { hint: (v) => `did you mean "${String(v).toUpperCase().replace(/[^A-Z0-9_]/g, '_')}"? Secret names are upper-case` },
);

// ---------------------------------------------------------------- durations

/** The strings parseDuration accepts (whitespace allowed around the parts). */
const DURATION_PATTERN = /^\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h)\s*$/;
export { DURATION_FORMATS };

/** Duration schemas: their input is seconds or "30s", their output milliseconds (see storedSchema). */
const durationSchemas = new WeakSet<z.ZodType>();

function durationInput() {
  const schema = z
    .union([
      z.string().regex(DURATION_PATTERN, { error: (iss) => `invalid duration ${show(iss.input)}: expected ${DURATION_FORMATS}` }),
      z.number().nonnegative(),
    ])
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.issues.push({ code: 'custom', input: v, message: `invalid duration ${show(v)}: expected ${DURATION_FORMATS}` });
        return z.NEVER;
      }
      return ms;
    });
  durationSchemas.add(schema);
  return schema;
}

/** A duration field: a string like "30s" or a number of seconds; parsed to milliseconds. */
function duration(description: string) {
  const schema = field(durationInput(), `${description} A duration: ${DURATION_FORMATS}.`, {
    expected: `a duration (${DURATION_FORMATS})`,
    hint: `write a duration such as "30s"; accepted: ${DURATION_FORMATS}`,
  });
  durationSchemas.add(schema);
  return schema;
}

// ---------------------------------------------------------------- text that reaches a process

const NUL_HINT = 'remove the NUL character (\\0): an environment, an argument or a path cannot carry it';

/** A string that becomes part of a process's environment, arguments or paths: no NUL, which the OS cannot carry. */
function noNul<T extends z.ZodType<string>>(schema: T, what: string) {
  return schema.superRefine((v, ctx) => {
    if (v.includes('\0')) ctx.addIssue({ code: 'custom', message: `${what} contains a NUL character (\\0)`, params: { hint: NUL_HINT } });
  });
}

/** A shell command (run, build, health, hooks): not empty, no NUL. */
function command(description: string) {
  return field(noNul(z.string().min(1), 'the command'), description, { hint: 'write the command, e.g. "node server.js"' });
}

// ---------------------------------------------------------------- sections

const Build = z
  .strictObject({
    command: command('Command run in the app directory to build a release, e.g. "npm ci --omit=dev".').optional(),
    dockerfile: field(z.string(), 'Dockerfile used by container targets (relative to the context).').optional(),
    context: field(z.string(), 'Build context directory, relative to gantry.yaml.').optional(),
    from: field(z.enum(['worktree', 'commit']), 'What a release is built from: "worktree" (the files as they are, the default) or "commit" (a clean checkout of HEAD: uncommitted changes are left out; needs a git work tree).').optional(),
  })
  .describe('How to build a release. Every key is optional.');

const Run = z
  .strictObject({
    command: command('Command that starts the app. It should listen on $PORT. Required by targets that run it (process; docker without a Dockerfile of its own).').optional(),
    port: field(z.int().min(1).max(65535), 'Port the app listens on inside a container; the process target passes $PORT instead.').default(DEFAULTS.run.port),
    instances: field(z.int().min(1).max(DEFAULTS.run.maxInstances), `Number of instances to run (1-${DEFAULTS.run.maxInstances}).`).default(DEFAULTS.run.instances),
  })
  .describe('How to run the app.');

export type HealthType = 'http' | 'tcp' | 'command';

const Health = z
  .strictObject({
    type: field(z.enum(['http', 'tcp', 'command']), 'Kind of check: "http" (GET path), "tcp" (connect) or "command" (exit 0). Default: http, or command when `command` is given.').optional(),
    path: field(
      z.string().regex(/^\//, { error: (iss) => `health path ${show(iss.input)} must start with "/"` }),
      'HTTP path checked by http health checks.',
      { hint: (v) => `e.g. "/${String(v).replace(/^\/*/, '')}"` },
    ).default(DEFAULTS.health.path),
    command: command('Command run for "command" health checks; exit code 0 means healthy.').optional(),
    expect_status: field(z.int().min(100).max(599), `Exact HTTP status expected; by default any ${DEFAULTS.health.expectStatusMin}-${DEFAULTS.health.expectStatusMax} is healthy.`).optional(),
    interval: duration('Time between checks.').default(DEFAULTS.health.intervalMs),
    timeout: duration('Time a single check may take.').default(DEFAULTS.health.timeoutMs),
    start_period: duration('Grace period after start during which failures do not count.').default(DEFAULTS.health.startPeriodMs),
    retries: field(z.int().min(1), 'Consecutive failures before an instance is unhealthy.').default(DEFAULTS.health.retries),
  })
  .superRefine((h, ctx) => {
    if (h.type === 'command' && h.command === undefined) {
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'health.type is "command" but no health.command is given', params: { hint: 'add e.g. command: "curl -fsS localhost:$PORT/health"' } });
    }
  })
  .transform((h) => {
    const type: HealthType = h.type ?? (h.command !== undefined ? 'command' : 'http');
    return { ...h, type };
  })
  .describe('How Gantry decides an instance is healthy.');

const EnvValue = field(
  z.union([noNul(z.string(), 'the value'), z.number(), z.boolean()]).transform((v) => String(v)),
  'Environment variable value (numbers and booleans are turned into strings).',
  { expected: 'a string, number or boolean', hint: 'quote the value, e.g. "value"' },
);

const Steps = field(
  z
    .array(z.int().min(1).max(100))
    .min(1)
    .superRefine((steps, ctx) => {
      if (!steps.every((s) => Number.isInteger(s) && s >= 1 && s <= 100)) return;
      for (let i = 1; i < steps.length; i++) {
        if (steps[i]! <= steps[i - 1]!) {
          ctx.addIssue({ code: 'custom', path: [i], message: `canary steps must go up: ${steps[i]} comes after ${steps[i - 1]}`, params: { hint: 'list traffic percentages in ascending order, e.g. [10, 50, 100]' } });
        }
      }
      const last = steps[steps.length - 1]!;
      if (last !== 100) {
        ctx.addIssue({ code: 'custom', path: [steps.length - 1], message: `the last canary step must be 100, found ${last}`, params: { hint: `end with 100 so the new release takes all traffic, e.g. [${[...steps, 100].join(', ')}]` } });
      }
    }),
  'Canary traffic percentages, ascending, ending at 100.',
);

const Pause = field(
  z.union([z.literal('manual'), durationInput()]),
  `Wait between canary steps: a duration (${DURATION_FORMATS}) or "manual" to wait for \`gantry promote\`.`,
  { expected: `a duration (${DURATION_FORMATS}) or "manual"`, hint: 'write a duration such as "30s", or "manual"' },
);

const Analysis = z
  .strictObject({
    max_error_rate: field(z.number().min(0).max(1), 'Highest acceptable share of failed requests (0-1), e.g. 0.01.').optional(),
    max_p99_ms: field(z.number().positive(), 'Highest acceptable 99th percentile latency, in milliseconds.').optional(),
    min_requests: field(z.int().min(0), 'Requests needed before the analysis counts.').optional(),
  })
  .describe('Canary analysis thresholds; a step that exceeds them rolls back.');

export type StrategyType = 'recreate' | 'rolling' | 'blue-green' | 'canary';

/** A whole number, or a percent of the nodes such as "25%". */
const CountOrPercent = (description: string, min = 1) =>
  field(z.union([z.int().min(min), z.string().regex(/^(100|[1-9]?[0-9])%$/, { error: 'a percent such as "25%" (0 to 100)' }).transform((v) => v as `${number}%`)]), description);

const Strategy = z
  .strictObject({
    type: field(z.enum(['recreate', 'rolling', 'blue-green', 'canary']), 'Deployment strategy.').default(DEFAULTS.strategy.type),
    max_unavailable: field(z.int().min(0), 'Rolling: instances that may be down at once.').default(DEFAULTS.strategy.maxUnavailable),
    max_surge: field(z.int().min(0), 'Rolling: extra instances that may run during the rollout.').default(DEFAULTS.strategy.maxSurge),
    keep_previous: duration('Blue-green: how long the previous release keeps running after the switch.').default(DEFAULTS.strategy.keepPreviousMs),
    steps: Steps.default(() => [...DEFAULTS.strategy.canarySteps]),
    pause: Pause.default(DEFAULTS.strategy.canaryPauseMs),
    analysis: Analysis.optional(),
    watch: duration('How long the new release is watched after the switch before the deploy counts as done.').default(DEFAULTS.strategy.watchMs),
    drain_timeout: duration('How long in-flight requests may finish before an old instance is stopped.').default(DEFAULTS.strategy.drainTimeoutMs),
    stop_timeout: duration('How long an instance may take to exit after SIGTERM before SIGKILL.').default(DEFAULTS.strategy.stopTimeoutMs),
    batch: CountOrPercent('Many-node targets: how many nodes are rolled out at a time, a count or a percent of the nodes ("25%").').default(DEFAULTS.strategy.batch),
    parallel: field(z.int().min(1), 'Many-node targets: how many nodes of a batch are worked on at once (default: the whole batch).').optional(),
    max_failed: CountOrPercent('Many-node targets: how many nodes may fail (each is put back on its own) before the rollout stops and every node goes back.', 0).default(DEFAULTS.strategy.maxFailed),
    node_timeout: duration('Many-node targets: how long one node may take for its part of a batch; past it the node counts as failed, so one slow node never stalls a batch.').default(DEFAULTS.strategy.nodeTimeoutMs),
  })
  .superRefine((s, ctx) => {
    if (s.type === 'rolling' && s.max_unavailable === 0 && s.max_surge === 0) {
      ctx.addIssue({ code: 'custom', path: ['max_surge'], message: 'a rolling deploy cannot progress with max_unavailable: 0 and max_surge: 0', params: { hint: 'set max_surge: 1 (start a new instance before stopping an old one)' } });
    }
  })
  .describe('How a new release replaces the old one.');

const Hooks = z
  .strictObject({
    pre_deploy: command('Command run once before the new release starts (e.g. migrations); failure aborts the deploy.').optional(),
    post_deploy: command('Command run once after the deploy succeeded.').optional(),
  })
  .describe('Commands run around a deploy.');

const PERSIST_RE = /^(?![\\/])(?![A-Za-z]:)(?!(?:.*[\\/])?\.\.(?:[\\/]|$)).+$/;

const PersistPath = field(
  z.string().regex(PERSIST_RE, {
    error: (iss) => {
      const p = String(iss.input);
      if (p === '') return 'a persist path cannot be empty';
      if (/^[\\/]|^[A-Za-z]:/.test(p)) return `persist path ${show(p)} is absolute; it must be relative to the app directory`;
      if (/(?:^|[\\/])\.\.(?:[\\/]|$)/.test(p)) return `persist path ${show(p)} contains "..": it must stay inside the app directory`;
      return `invalid persist path ${show(p)}`;
    },
  }).superRefine((p, ctx) => {
    if (p.includes('\0')) ctx.addIssue({ code: 'custom', message: `persist path ${show(p)} contains a NUL character (\\0)`, params: { hint: NUL_HINT } });
    else if (PERSIST_RE.test(p) && persistKey(p) === '') ctx.addIssue({ code: 'custom', message: `persist path ${show(p)} is the app directory itself; persist names a directory inside it`, params: { hint: 'name the directory to keep, e.g. "data"' } });
  }),
  'Directory (relative to the app) kept outside releases and linked into each one (a volume on container targets).',
  { hint: (v) => {
      const fixed = String(v).split(/[\\/]+/).filter((s) => s && s !== '..' && s !== '.' && !/^[A-Za-z]:$/.test(s)).join('/');
      return fixed ? `use a path inside the app directory, e.g. "${fixed}"` : 'use a path inside the app directory, e.g. "data"';
    } },
);

/** A persist path as one canonical relative path ("./data/" and "data" are the same directory). */
function persistKey(p: string): string {
  return p.split(/[\\/]+/).filter((s) => s !== '' && s !== '.').join('/');
}

/** Each directory once, and none inside another (its link would point into the other's shared copy). */
const PersistList = z.array(PersistPath).superRefine((paths, ctx) => {
  const keys = paths.map(persistKey);
  keys.forEach((k, i) => {
    if (k === '') return;
    const j = keys.findIndex((other, at) => at < i && other !== '' && (other === k || k.startsWith(`${other}/`) || other.startsWith(`${k}/`)));
    if (j < 0) return;
    const same = keys[j] === k;
    ctx.addIssue({
      code: 'custom',
      path: [i],
      message: same ? `persist path ${show(paths[i])} repeats persist[${j}] (${show(paths[j])})` : `persist path ${show(paths[i])} overlaps persist[${j}] (${show(paths[j])}): one is inside the other`,
      params: { hint: same ? 'list each directory once' : `keep only the outer directory, "${k.length < keys[j]!.length ? k : keys[j]}"` },
    });
  });
});

const Autoscale = z
  .strictObject({
    min: field(z.int().min(1), 'Fewest instances.'),
    max: field(z.int().min(1), 'Most instances (at least min).'),
    cpu_percent: field(z.number().min(1).max(100), 'Target CPU use per instance, in percent (1-100).').optional(),
    concurrency: field(z.int().min(1), 'Target in-flight requests per instance.').optional(),
    cooldown: duration('Least time between two scaling decisions.').default(DEFAULTS.autoscale.cooldownMs),
  })
  .superRefine((a, ctx) => {
    if (a.max < a.min) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: `autoscale.max (${a.max}) is less than autoscale.min (${a.min})`, params: { hint: `set max to at least ${a.min}` } });
    }
    if (a.cpu_percent === undefined && a.concurrency === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'autoscale needs a metric: cpu_percent or concurrency', params: { hint: 'add e.g. cpu_percent: 70' } });
    }
  })
  .describe('Scale the number of instances between min and max.');

const Backup = z
  .strictObject({
    before_deploy: field(z.boolean(), 'Back up persisted data before each deploy.').optional(),
    keep: field(z.int().min(1), 'Number of backups kept.').default(DEFAULTS.backupsKept),
  })
  .describe('Backups of persisted data.');

const Proxy = z
  .strictObject({
    response_timeout: duration("Time the app may take to start answering a request (its first response byte); past it the client gets 504. 0 = no limit.").default(DEFAULTS.proxy.responseTimeoutMs),
    idle_timeout: duration('A response with no bytes moving in either direction for this long is cut (long polls and event streams must send something within it). 0 = no limit.').default(DEFAULTS.proxy.idleTimeoutMs),
  })
  .describe("Gantry's proxy in front of the app (targets that route through it: process, docker).");

const Target = z
  .looseObject({
    type: field(z.string().min(1), 'Target type, e.g. process, docker, ssh, kubernetes.'),
  })
  .describe('A place to deploy to: `type` plus the settings of that target type.');

const DEFAULT_TARGETS = (): Record<string, z.input<typeof Target>> => ({ [DEFAULTS.defaultTargetName]: { type: DEFAULTS.defaultTargetType } });

/** Every top-level key except `app` and `environments` (those are what an environment may override). */
const sections = {
  build: Build.optional(),
  run: Run.prefault({}),
  health: Health.prefault({}),
  env: z.record(EnvVarName, EnvValue).default(() => ({})).describe('Environment variables for the app (plain values; put secrets in `secrets`).'),
  secrets: z.array(SecretName).default(() => []).describe('Names of secrets the app needs; values are set with `gantry secrets set`.'),
  strategy: Strategy.prefault({}),
  hooks: Hooks.optional(),
  persist: PersistList.default(() => []).describe('Directories kept across releases.'),
  exclusive: field(z.boolean(), 'Stop the old release before starting the new one (for apps that lock files); requests are drained first.').default(false),
  autoscale: Autoscale.optional(),
  backup: Backup.optional(),
  proxy: Proxy.prefault({}),
  targets: z
    .record(TargetName, Target)
    .superRefine((targets, ctx) => {
      if (Object.keys(targets).length === 0) {
        ctx.addIssue({ code: 'custom', message: 'no targets defined: there is nowhere to deploy', params: { hint: `add one, e.g. targets: { ${DEFAULTS.defaultTargetName}: { type: ${DEFAULTS.defaultTargetType} } }, or remove "targets:" to use that default` } });
      }
    })
    .default(DEFAULT_TARGETS)
    .describe(`Where the app can be deployed. Default: { ${DEFAULTS.defaultTargetName}: { type: ${DEFAULTS.defaultTargetType} } }.`),
};

// ---------------------------------------------------------------- environments

/**
 * The overlay form of a schema: every key optional, no defaults, no
 * cross-field checks (an overlay is only complete once merged onto the base,
 * where the full schema checks it again). Lists and scalars are unchanged.
 */
function toOverlay(schema: z.ZodType): z.ZodType {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
      return toOverlay(def.innerType as z.ZodType);
    case 'pipe': {
      const input = def.in as z.ZodType;
      return input._zod.def.type === 'object' ? toOverlay(input) : schema;
    }
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>;
      const partial = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, toOverlay(v).optional()]));
      let out: z.ZodType = z.object(partial).catchall((def.catchall as z.ZodType | undefined) ?? z.never());
      const description = z.globalRegistry.get(schema)?.description;
      if (description) out = out.describe(description);
      return out;
    }
    case 'record':
      return z.record(def.keyType as z.core.$ZodRecordKey, toOverlay(def.valueType as z.ZodType));
    default:
      return schema;
  }
}

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

const Sections = z.strictObject(sections);
/** What `environments.<name>` may contain (input side). */
export type EnvironmentOverlay = DeepPartial<z.input<typeof Sections>>;

const Overlay = toOverlay(Sections).describe('Overrides for this environment, merged onto the top-level keys (mappings merge, lists and values replace).') as unknown as z.ZodType<
  Record<string, unknown>,
  EnvironmentOverlay
>;

// ---------------------------------------------------------------- manifest

export const ManifestSchema = z
  .strictObject({
    app: AppName,
    ...sections,
    environments: z
      .record(EnvironmentName, Overlay)
      .optional()
      .describe('Named environments (select one with --env), each a partial manifest merged onto the top level.'),
  })
  .describe('Gantry manifest (gantry.yaml): what the app is, how to build, run, check and deploy it, and where.');

/** The resolved manifest: snake_case keys as in YAML, defaults applied, durations in milliseconds. */
export type Manifest = z.output<typeof ManifestSchema>;
/** What may be written in gantry.yaml. */
export type ManifestInput = z.input<typeof ManifestSchema>;
/** One target's config as written: `type` plus that target type's settings. */
export type TargetConfig = z.output<typeof Target>;

// ---------------------------------------------------------------- stored manifests

/**
 * The schema of a manifest as Gantry stored it (a release's resolved manifest):
 * the same shape and defaults as ManifestSchema's output, so a manifest stored
 * before a default existed gets it when read back. It differs from ManifestSchema
 * where re-parsing an output would change it: durations are already
 * milliseconds (a number in gantry.yaml means seconds), unknown keys are dropped
 * rather than refused, and cross-field checks are not repeated.
 */
function storedSchema(schema: z.ZodType): z.ZodType {
  if (durationSchemas.has(schema)) return z.number();
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'optional':
      return storedSchema(def.innerType as z.ZodType).optional();
    case 'default': {
      const d = def as unknown as { defaultValue: unknown };
      return storedSchema(def.innerType as z.ZodType).default(() => d.defaultValue as never);
    }
    case 'prefault': {
      const d = def as unknown as { defaultValue: unknown };
      return storedSchema(def.innerType as z.ZodType).prefault(() => d.defaultValue as never);
    }
    case 'pipe':
      // Transforms other than durations (health type, env values to strings) give the same result run again.
      return storedSchema(def.in as z.ZodType).pipe(def.out as z.ZodType);
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>;
      const out = z.object(Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, storedSchema(v)])));
      return def.catchall && (def.catchall as z.ZodType)._zod.def.type !== 'never' ? out.catchall(def.catchall as z.ZodType) : out;
    }
    case 'record':
      return z.record(def.keyType as z.core.$ZodRecordKey, storedSchema(def.valueType as z.ZodType));
    case 'array':
      return z.array(storedSchema(def.element as z.ZodType));
    case 'union':
      return z.union((def.options as z.ZodType[]).map(storedSchema) as [z.ZodType, ...z.ZodType[]]);
    default:
      return schema;
  }
}

/** A release's stored manifest: the resolved manifest without `targets` and `environments`. */
export const StoredManifestSchema = storedSchema(ManifestSchema.omit({ targets: true, environments: true })) as unknown as z.ZodType<StoredManifest, unknown>;
export type StoredManifest = Omit<Manifest, 'targets' | 'environments'>;
