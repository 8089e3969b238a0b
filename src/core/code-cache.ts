/**
 * Runs a CommonJS bundle (the CLI's, the local agent's) with V8's code cache, the way
 * v8-compile-cache does: Node 20 caches no compiled code for ES modules, and compiling
 * a few MB of bundle is most of a short command's start-up. The compiled code of a run
 * is written beside the bundle (or in the user's cache dir when that is read-only) when
 * the process exits, and the next run hands it to V8 instead of compiling again.
 *
 * A cache is used only when it provably belongs to this bundle and this Node: its
 * header names the Node version, the sha256 of the bundle it was compiled from and the
 * sha256 of its own bytes (release builds of V8 do not checksum a code cache, so a
 * damaged one must never reach V8); V8 then refuses one made with other flags
 * (cachedDataRejected). Anything wrong means "no cache": the bundle is compiled as if
 * there were none, and a good cache replaces the bad one at exit.
 */
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { markStartup } from './startup-marks.js';

const FORMAT = 3;
// Same line as the bundle's first: line numbers in stack traces stay the bundle's own.
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAP_TAIL = '\n})';

export interface CacheHeader {
  format: number;
  node: string;
  arch: string;
  /** sha256 of the bundle's bytes: what the cache was compiled from. */
  bundleSha: string;
  /**
   * The bundle's stat when its sha256 was last computed: an equal stat spares hashing it
   * on every run. It includes ctime, which any write (or a reset mtime) moves on.
   */
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** sha256 of the cached code's bytes. */
  dataSha: string;
  /** The bundle is plain ASCII (decoded as latin1 without looking again while its stat is unchanged). */
  ascii: boolean;
  /** The kind of run (a command) whose compiled functions the cache holds. */
  key: string;
}

export interface RunOptions {
  /**
   * What this run is (the command's name): each kind has a cache of its own, holding the
   * code that kind of run compiled (one shared by every command is larger to load for each).
   * Anything but a plain lowercase word shares the cache "other".
   */
  key: string;
  /** Where the caches may live, in order of preference: read from the first holding one, written to the first writable. */
  cacheDirs?: string[];
  /** Also write the cache this long after the start (a daemon, whose exit may be far off); else only at exit. */
  saveAfterMs?: number;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Beside the bundle, then the user's cache dir (a read-only install), one dir per bundle there. */
export function defaultCacheDirs(bundle: string): string[] {
  const userDir = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const id = createHash('sha256').update(bundle).digest('hex').slice(0, 16);
  return [dirname(bundle), join(userDir, 'gantry', `code-cache-${id}`)];
}

/** `<bundle name>.<key>.cache` in each dir. */
export function cacheFilesFor(bundle: string, key: string, dirs: readonly string[]): string[] {
  const k = /^[a-z][a-z0-9-]{0,23}$/.test(key) ? key : 'other';
  return dirs.map((d) => join(d, `${basename(bundle)}.${k}.cache`));
}

// ASCII (what the bundle is built as) decodes as latin1, much faster than as UTF-8. A cache whose
// header has the bundle's stat already says whether it is ASCII: no need to scan its bytes again.
const decode = (b: Buffer, knownAscii = false): string => (knownAscii || isAscii(b) ? b.toString('latin1') : b.toString('utf8'));

const sameStat = (h: CacheHeader, st: Stats): boolean => h.size === st.size && h.mtimeMs === st.mtimeMs && h.ctimeMs === st.ctimeMs && h.ino === st.ino;

/** The cache file's header and code when they belong to this bundle (its bytes and stat) and are intact; else undefined. */
export function readCache(file: string, bundle: Buffer, st: Stats): { header: CacheHeader; data: Buffer } | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch {
    return undefined;
  }
  const nl = raw.indexOf(10);
  if (nl <= 0) return undefined;
  let header: CacheHeader;
  try {
    header = JSON.parse(raw.subarray(0, nl).toString('utf8')) as CacheHeader;
  } catch {
    return undefined;
  }
  if (!header || header.format !== FORMAT || header.node !== process.version || header.arch !== process.arch) return undefined;
  // A bundle rewritten since (another build) has another stat: then only its hash says whether the cache is still its own.
  if (!sameStat(header, st) && sha256(bundle) !== header.bundleSha) return undefined;
  const data = raw.subarray(nl + 1);
  if (sha256(data) !== header.dataSha) return undefined;
  return { header, data };
}

/** More caches than this beside one bundle (typos make keys too): no new one is written there. */
const MAX_FILES = 48;

function roomFor(file: string, bundleName: string): boolean {
  if (existsSync(file)) return true;
  try {
    return readdirSync(dirname(file)).filter((f) => f.startsWith(`${bundleName}.`) && f.endsWith('.cache')).length < MAX_FILES;
  } catch {
    return true;
  }
}

function writeCache(files: readonly string[], bundleName: string, header: CacheHeader, data: Buffer): void {
  const bytes = Buffer.concat([Buffer.from(JSON.stringify(header) + '\n'), data]);
  for (const file of files) {
    if (!roomFor(file, bundleName)) continue;
    // Written whole then renamed: a concurrent run reads the old cache or the new, never half of one.
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(tmp, bytes);
      renameSync(tmp, file);
      return;
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        /* never written */
      }
    }
  }
}

/**
 * Compile and run the CommonJS bundle at `file` with the code cache. Returns false,
 * having run nothing, when the bundle cannot be read or compiled (the caller then runs
 * the unbundled code); errors of the bundle's own run propagate.
 */
export function runBundle(file: string, opts: RunOptions): boolean {
  let bytes: Buffer;
  let st: Stats;
  let script: Script;
  const cacheFiles = cacheFilesFor(file, opts.key, opts.cacheDirs ?? defaultCacheDirs(file));
  let cached: ReturnType<typeof readCache>;
  try {
    st = statSync(file);
    bytes = readFileSync(file);
    for (const f of cacheFiles) if ((cached = readCache(f, bytes, st))) break;
    const knownAscii = cached !== undefined && cached.header.ascii && sameStat(cached.header, st);
    script = new Script(WRAP_HEAD + decode(bytes, knownAscii) + WRAP_TAIL, { filename: file, cachedData: cached?.data });
  } catch {
    return false;
  }
  markStartup('compiled');
  const fresh = !cached || script.cachedDataRejected === true;
  // A bundle found the same by its hash but with another stat (copied, touched): the header takes the new stat.
  const restat = !fresh && !sameStat(cached!.header, st);
  if (fresh || restat) {
    // At exit the script holds the code of every function this run compiled: the next run of this kind compiles none of them.
    let saved = false;
    const save = (): void => {
      if (saved) return;
      saved = true;
      try {
        const data = script.createCachedData();
        const bundleSha = fresh ? sha256(bytes) : cached!.header.bundleSha;
        const header: CacheHeader = { format: FORMAT, node: process.version, arch: process.arch, bundleSha, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, dataSha: sha256(data), ascii: isAscii(bytes), key: basename(cacheFiles[0]!) };
        writeCache(cacheFiles, basename(file), header, data);
      } catch {
        /* no cache this time: the next run compiles */
      }
    };
    process.once('exit', save);
    if (opts.saveAfterMs !== undefined) setTimeout(save, opts.saveAfterMs).unref();
  }
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return true;
}

const mtimeOf = (file: string): number => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
};

/**
 * `runBundle` when the bundle is at least as new as `source` (tsc's output it was built
 * from: a bundle older than that would run stale code); else false, having run nothing.
 * What the CommonJS launchers call (bin/gantry.js, dist/agent/launch.cjs).
 */
export function runBundleIfFresh(bundle: string, source: string, opts: RunOptions): boolean {
  const built = mtimeOf(bundle);
  return built >= 0 && built >= mtimeOf(source) && runBundle(bundle, opts);
}
