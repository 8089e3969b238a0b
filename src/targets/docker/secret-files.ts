import type Docker from 'dockerode';
import { GantryError } from '../../core/errors.js';

/**
 * `secrets_as_files`: /run/secrets is a tmpfs (never an image layer or the container's
 * writable layer, so `docker diff` does not show it), and the files in it belong to the
 * image's user, mode 0400 in a 0500 folder: that user reads them, nobody else can.
 *
 * A tmpfs exists only while the container runs, so the files are written after start,
 * by `docker exec` with each value on stdin (never argv, never the container config).
 * Meanwhile the container's own command waits for them: its entrypoint is wrapped in a
 * small sh loop that execs the original entrypoint/command once every file is there.
 * The image needs /bin/sh (and chown, cat, mv for the exec), like any Debian/Alpine base.
 */
export const SECRETS_DIR = '/run/secrets';

export const SECRETS_TMPFS = { [SECRETS_DIR]: 'rw,nosuid,nodev,noexec,size=1m,mode=0700' };

/** Bounded: 600 waits of 50 ms. A container restarted by Docker itself starts with an empty tmpfs and says so. */
const WAIT_SCRIPT = [
  'while [ "$1" != "--" ]; do',
  '  i=0',
  `  until [ -e "${SECRETS_DIR}/$1" ]; do`,
  '    i=$((i+1))',
  `    if [ "$i" -gt 600 ]; then echo "gantry: ${SECRETS_DIR}/$1 is missing: secret files are written when gantry starts the container (after a restart by Docker, run gantry restart)" >&2; exit 70; fi`,
  '    sleep 0.05 2>/dev/null || sleep 1',
  '  done',
  '  shift',
  'done',
  'shift',
  'exec "$@"',
].join('\n');

/** Write one file: to a temporary name, owned by the user, 0400, then renamed (a reader never sees half a value). */
const WRITE_SCRIPT = `set -e; umask 077; f="${SECRETS_DIR}/.$1.tmp"; cat > "$f"; if [ -n "$2" ]; then chown "$2" "$f"; fi; chmod 0400 "$f"; mv "$f" "${SECRETS_DIR}/$1"`;
/** Last: hand the folder to the user (0500): until then a non-root user cannot see any file, so the wait ends only when all are there. */
const SEAL_SCRIPT = `set -e; if [ -n "$1" ]; then chown "$1" "${SECRETS_DIR}"; fi; chmod 0500 "${SECRETS_DIR}"`;

/** The image's entrypoint and command, wrapped to wait for the secret files. */
export async function wrapCommandForSecrets(docker: Docker, image: string, names: string[], cmd?: string[]): Promise<{ Entrypoint: string[]; Cmd: string[]; user: string }> {
  const info = await docker.getImage(image).inspect();
  const original = [...(info.Config.Entrypoint ?? []), ...(cmd ?? info.Config.Cmd ?? [])];
  if (original.length === 0) throw new GantryError('START_FAILED', `image ${image} has no entrypoint or command to run`, 'add CMD to the Dockerfile');
  return { Entrypoint: ['/bin/sh', '-c', WAIT_SCRIPT, 'gantry-secrets'], Cmd: [...names, '--', ...original], user: info.Config.User ?? '' };
}

/** Write the secret files into the running container's tmpfs, as root, each value on the exec's stdin. */
export async function writeSecretFiles(container: Docker.Container, secrets: Record<string, string>, user: string): Promise<void> {
  for (const [name, value] of Object.entries(secrets)) await execWithStdin(container, ['/bin/sh', '-c', WRITE_SCRIPT, 'gantry-secret', name, user], value, `write ${SECRETS_DIR}/${name}`);
  await execWithStdin(container, ['/bin/sh', '-c', SEAL_SCRIPT, 'gantry-secret', user], undefined, `hand ${SECRETS_DIR} to the image's user`);
}

async function execWithStdin(container: Docker.Container, cmd: string[], stdin: string | undefined, what: string): Promise<void> {
  const exec = await container.exec({ Cmd: cmd, User: '0', AttachStdin: stdin !== undefined, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin: stdin !== undefined })) as NodeJS.ReadWriteStream;
  const output: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new GantryError('START_FAILED', `secrets_as_files: ${what} did not finish`, 'check that the container runs')), 30_000);
    stream.on('data', (d: Buffer) => output.push(d));
    stream.on('end', () => (clearTimeout(timer), resolve()));
    stream.on('error', (e) => (clearTimeout(timer), reject(e)));
    if (stdin !== undefined) stream.end(stdin);
  });
  let code: number | null = null;
  for (let i = 0; i < 100 && code === null; i++) {
    const st = await exec.inspect();
    if (!st.Running) code = st.ExitCode;
    else await new Promise((r) => setTimeout(r, 20));
  }
  if (code !== 0) {
    // The output is the script's own messages (cat/chown errors), never a value: values go to a file, not to stdout.
    const text = demux(Buffer.concat(output)).toString('utf8').trim().slice(-300);
    throw new GantryError('START_FAILED', `secrets_as_files: could not ${what} (exit ${code ?? 'unknown'}${text ? `: ${text}` : ''})`, "the image needs /bin/sh, cat, chown and mv, and its USER must exist in its /etc/passwd");
  }
}

/** The payloads of the engine's multiplexed stream (8-byte header per frame). */
function demux(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(off + 4);
    parts.push(buf.subarray(off + 8, off + 8 + size));
    off += 8 + size;
  }
  return Buffer.concat(parts);
}
