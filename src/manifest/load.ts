/**
 * Load and validate gantry.yaml: parse (keeping positions) → interpolate
 * ${VAR} → overlay the selected environment → schema → target configs.
 * Every problem is collected, with file, line, column, path and hint.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { DEFAULTS } from '../core/defaults.js';
import { GantryError, type Problem } from '../core/errors.js';
import { formatProblem } from './format.js';
import { interpolateTree, type Vars } from './interpolate.js';
import { issuesToDrafts, describeValue, type Draft } from './issues.js';
import { allowedKeysFrom, explainIndentation, unindentedKeyProblems } from './indentation.js';
import { applyOverlay } from './overlay.js';
import { child, formatPath, fromYaml, locate, toPlain, type LNode, type PathSegment, type Pos, type TreeProblem } from './positions.js';
import { ManifestSchema, type Manifest } from './schema.js';
import { closest, quoteList } from './suggest.js';
import { checkCapabilities, type DeclaredCapabilities } from './capabilities.js';
import { checkTargets, type TargetCheckOptions } from './targets.js';
import { yamlErrorsToProblems } from './yaml-errors.js';

export { formatProblem };

export interface LoadOptions extends TargetCheckOptions {
  /** Each target type's declared capabilities; when given, what the manifest asks must be among them. */
  targetCapabilities?: (type: string) => DeclaredCapabilities | undefined;
  /** Environment overlay to apply (`environments.<env>`). */
  env?: string;
  /** Variables for ${VAR} interpolation; default process.env. */
  vars?: Vars;
}

export interface LoadedManifest {
  /** Absolute path of the manifest file. */
  file: string;
  /** Directory of the manifest file (the app's source). */
  dir: string;
  /** The environment applied, if any. */
  env?: string;
  /** Validated, with defaults applied and durations in milliseconds. */
  manifest: Manifest;
  /** The interpolated and overlaid document as plain data (before the schema). */
  raw: Record<string, unknown>;
  /** Where a path is written in the file (a missing key: its nearest written parent), for problems found after loading. */
  locate(path: readonly PathSegment[]): Pos;
}

export interface ValidationResult {
  valid: boolean;
  problems: Problem[];
  /** Present when valid. */
  manifest?: LoadedManifest;
}

const NOT_FOUND_HINT = 'run `gantry init` to create a gantry.yaml, or pass -f <file>';

/** Resolve a manifest path; a directory means the gantry.yaml inside it. */
function resolveFile(file: string): string {
  const abs = resolve(file);
  try {
    if (statSync(abs).isDirectory()) return join(abs, DEFAULTS.manifestFile);
  } catch {
    // reported when reading
  }
  return abs;
}

/** Refused before parsing: YAML parsing time grows with size (80,000 keys took 38 s). */
function tooLarge(file: string, size: number): GantryError {
  const limit = DEFAULTS.manifestMaxBytes;
  return new GantryError(
    'MANIFEST_TOO_LARGE',
    `the manifest ${file} is ${size} bytes, over the limit of ${limit} bytes (${limit / 1024 / 1024} MB)`,
    'a gantry.yaml is normally a few KB: check that -f points at the manifest, and move data out of it',
    { file, size, limit },
  );
}

function readSource(file: string): string {
  try {
    const size = statSync(file).size;
    if (size > DEFAULTS.manifestMaxBytes) throw tooLarge(file, size);
    return readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof GantryError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new GantryError('MANIFEST_NOT_FOUND', `no manifest found at ${file}`, NOT_FOUND_HINT);
    throw new GantryError('MANIFEST_NOT_FOUND', `cannot read the manifest ${file}: ${(e as Error).message}`, 'check that the file exists and is readable, or pass -f <file>');
  }
}

/**
 * Validate a manifest file and collect every problem.
 * @throws GantryError MANIFEST_NOT_FOUND when the file cannot be read.
 */
export function validateManifest(file: string, opts: LoadOptions = {}): ValidationResult {
  const abs = resolveFile(file);
  return validateManifestSource(readSource(abs), abs, opts);
}

/**
 * Load a manifest file.
 * @throws GantryError MANIFEST_NOT_FOUND, or MANIFEST_INVALID with `details.problems`.
 */
export function loadManifest(file: string, opts: LoadOptions = {}): LoadedManifest {
  const result = validateManifest(file, opts);
  if (result.manifest) return result.manifest;
  throw invalidManifestError(result.problems);
}

export function invalidManifestError(problems: Problem[]): GantryError {
  const first = problems[0];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  const message = first ? `invalid manifest: ${formatProblem({ ...first, hint: undefined })}${more}` : 'invalid manifest';
  const hint = problems.length === 1 && first?.hint ? first.hint : 'fix the problems listed; `gantry validate` shows them all';
  return new GantryError('MANIFEST_INVALID', message, hint, { problems });
}

/** Validate manifest text; `file` is used for positions and `dir` only (it is not read). */
export function validateManifestSource(source: string, file: string, opts: LoadOptions = {}): ValidationResult {
  file = resolve(file);
  const fail = (problems: Problem[]): ValidationResult => ({ valid: false, problems });
  const size = Buffer.byteLength(source, 'utf8');
  if (size > DEFAULTS.manifestMaxBytes) throw tooLarge(file, size);

  // 1. YAML, keeping positions. Duplicate keys are found by fromYaml: yaml's own check is quadratic in a mapping's size.
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: true, uniqueKeys: false });
  const targetSchemas = opts.targetSchemas ?? (() => undefined);
  const targetTypes = opts.knownTargetTypes ?? [];
  if (doc.errors.length) {
    const syntax = unindentedKeyProblems(source, yamlErrorsToProblems(doc, doc.errors), allowedKeysFrom(ManifestSchema, undefined, targetSchemas, targetTypes));
    return fail(syntax.map((p) => ({ file, ...p })));
  }

  const fromTree = (t: TreeProblem): Problem => ({ file, line: t.pos.line, column: t.pos.column, path: formatPath(t.path), message: t.message, hint: t.hint });
  const converted = fromYaml(doc, lineCounter);
  if (converted.problems.length) return fail(converted.problems.map(fromTree));
  let tree: LNode = converted.root;
  if (tree.kind !== 'map') {
    return fail([
      fromTree({ pos: tree.pos, path: [], message: `the manifest must be a mapping of keys (app, run, targets, ...), found ${describeValue(toPlain(tree))}`, hint: 'start the file with e.g. "app: my-app"' }),
    ]);
  }

  // 2. ${VAR} interpolation.
  const interpolated = interpolateTree(tree, opts.vars ?? process.env);
  tree = interpolated.root;
  const early: TreeProblem[] = [...interpolated.problems];
  const poisoned = new Set(interpolated.problems.map((p) => formatPath(p.path)));

  // 3. Environment overlay.
  if (opts.env !== undefined) {
    const envs = child(tree, 'environments');
    const known = envs?.value.kind === 'map' ? [...envs.value.entries.keys()] : [];
    const overlay = envs?.value.kind === 'map' ? envs.value.entries.get(opts.env) : undefined;
    if (!overlay) {
      const near = closest(opts.env, known);
      early.push({
        pos: envs?.keyPos ?? tree.pos,
        path: ['environments'],
        message: `unknown environment "${opts.env}"`,
        hint: known.length
          ? `${near !== undefined ? `did you mean "${near}"? ` : ''}known environments: ${quoteList(known)}`
          : 'this manifest defines no environments; add an "environments:" section or leave out --env',
      });
    } else if (overlay.value.kind === 'map') {
      tree = applyOverlay(tree, overlay.value);
    }
  }

  // 4. Schema, then 5. target configs.
  const raw = toPlain(tree) as Record<string, unknown>;
  const parsed = ManifestSchema.safeParse(raw);
  let drafts: Draft[] = parsed.success ? [] : issuesToDrafts(parsed.error.issues, ManifestSchema, raw);
  drafts.push(...checkTargets(raw.targets, opts));
  drafts = explainIndentation(drafts, ManifestSchema, raw, allowedKeysFrom(ManifestSchema, raw, targetSchemas, targetTypes));
  if (opts.targetCapabilities) drafts.push(...checkCapabilities(raw, opts.targetCapabilities));

  const problems: Problem[] = early.map(fromTree);
  for (const d of drafts) {
    const path = formatPath(d.path);
    if (poisoned.has(path)) continue;
    const pos = locate(tree, d.path, d.at);
    problems.push({ file, line: pos.line, column: pos.column, path, message: d.message, hint: d.hint });
  }
  const unique = dedupe(problems).sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  if (unique.length || !parsed.success) return fail(unique);
  const located = tree;
  return { valid: true, problems: [], manifest: { file, dir: dirname(file), env: opts.env, manifest: parsed.data, raw, locate: (path) => locate(located, path) } };
}

/**
 * A problem in the selected environment's overlay is found twice: once in the
 * merged document and once in `environments.<name>`. Keep the first.
 */
function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}:${p.column}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
