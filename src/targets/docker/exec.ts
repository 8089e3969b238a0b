/**
 * `gantry exec` on docker: `docker exec` (through the engine's API) in a running
 * container of the release, or a one-off container of its image with the release's
 * env, secrets and volumes. A TTY when the caller has one (raw bytes both ways),
 * otherwise stdout and stderr demultiplexed; the command's exit code is returned.
 */
import type Docker from 'dockerode';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { ExecIO } from '../../engine/target.js';

/** Copy the caller's stdin into the engine's stream; its end half-closes the stream (the command sees EOF). */
function feedStdin(io: ExecIO, stream: Duplex): () => void {
  const stdin = io.stdin as Readable & { setRawMode?: (raw: boolean) => void; isTTY?: boolean };
  const raw = io.tty && stdin.isTTY && typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode!(true);
  const onData = (d: Buffer): void => void stream.write(d);
  const onEnd = (): void => void stream.end();
  stdin.on('data', onData);
  stdin.once('end', onEnd);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
    if (raw) stdin.setRawMode!(false);
  };
}

/** Output of the engine's stream to the caller until it ends: raw with a TTY, else demultiplexed. */
function drainOutput(docker: Docker, io: ExecIO, stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (io.tty) stream.on('data', (d: Buffer) => io.stdout.write(d));
    else docker.modem.demuxStream(stream, io.stdout as Writable, io.stderr as Writable);
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', resolve);
  });
}

/** Follow the caller's terminal size. */
function followResize(io: ExecIO, resize: (size: { h: number; w: number }) => Promise<unknown>): () => void {
  if (!io.tty || !io.columns || !io.rows) return () => undefined;
  const out = io.stdout as Writable & { columns?: number; rows?: number; on?: (e: string, f: () => void) => void; off?: (e: string, f: () => void) => void };
  const apply = (): void => void resize({ h: out.rows ?? io.rows!, w: out.columns ?? io.columns! }).catch(() => undefined);
  apply();
  out.on?.('resize', apply);
  return () => out.off?.('resize', apply);
}

export async function execInContainer(docker: Docker, container: string, argv: string[], io: ExecIO): Promise<{ exitCode: number }> {
  const term = io.tty && process.env.TERM ? [`TERM=${process.env.TERM}`] : [];
  const exec = await docker.getContainer(container).exec({ Cmd: argv, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: io.tty, Env: term });
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: io.tty })) as unknown as Duplex;
  const stopResize = followResize(io, (s) => exec.resize(s));
  const stopStdin = feedStdin(io, stream);
  try {
    await drainOutput(docker, io, stream);
  } finally {
    stopStdin();
    stopResize();
  }
  // The stream ends with the command; its exit code may take a moment to show.
  for (let i = 0; i < 100; i++) {
    const st = await exec.inspect();
    if (!st.Running) return { exitCode: st.ExitCode ?? 1 };
    await new Promise((r) => setTimeout(r, 20));
  }
  return { exitCode: 1 };
}

/** A container of its own (removed afterwards), attached before it starts so no output is lost. */
export async function execOneOff(docker: Docker, spec: Docker.ContainerCreateOptions, io: ExecIO, afterStart?: (c: Docker.Container) => Promise<void>): Promise<{ exitCode: number }> {
  const c = await docker.createContainer({ ...spec, Tty: io.tty, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true });
  try {
    const stream = (await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as unknown as Duplex;
    const output = drainOutput(docker, io, stream);
    await c.start();
    if (afterStart) await afterStart(c);
    const stopResize = followResize(io, (s) => c.resize(s));
    const stopStdin = feedStdin(io, stream);
    try {
      const [result] = (await Promise.all([c.wait(), output])) as [{ StatusCode: number }, void];
      return { exitCode: result.StatusCode };
    } finally {
      stopStdin();
      stopResize();
    }
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}
