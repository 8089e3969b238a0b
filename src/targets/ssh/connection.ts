import { PassThrough, Readable, type Writable } from 'node:stream';
import ssh2, { type Client as SshClient, type ClientChannel, type ConnectConfig } from 'ssh2';

const { Client } = ssh2;
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import type { SshCredentials } from './auth.js';
import { fingerprint } from './fingerprint.js';
import { describeHost } from './host-spec.js';
import { keyTypeOf, knownKeyTypes, readKnownHosts, recordHostKey, verifyHostKey } from './known-hosts.js';
import { remoteCommandLine } from './remote-command.js';

export interface SshEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** How messages name the host (the manifest's name for it). */
  readonly name: string;
}

export interface SshConnectOptions {
  readonly endpoint: SshEndpoint;
  readonly credentials: SshCredentials;
  readonly knownHostsFile: string;
  readonly trustOnFirstUse: boolean;
  /** TCP connect + handshake + authentication (and the hop through a bastion). */
  readonly connectTimeoutMs: number;
  /** Default for each exec() on this connection. */
  readonly commandTimeoutMs: number;
  /** An open connection to a jump host: this connection is tunnelled through it. */
  readonly via?: SshConnection;
}

export interface ExecOptions {
  /** Sent to the program's stdin (streamed for a Readable), then EOF. */
  readonly stdin?: Readable | Buffer | string;
  /** The program's stdout goes here as it arrives (with backpressure) instead of into `stdout`; the caller ends it. */
  readonly stdout?: Writable;
  /** 0: none (a follow of logs). Default: the connection's command timeout. */
  readonly timeoutMs?: number;
  /** Output kept per stream; the rest is dropped and `truncated` set. */
  readonly maxOutputBytes?: number;
  /**
   * Run it again when the session closed without an exit status (sshd does so, rarely, on a
   * busy host): default true unless stdin is a stream (it cannot be sent twice). Set false for
   * a command that must not run twice (a one-off task).
   */
  readonly retryUnreported?: boolean;
}

/** The caller's side of a streamed command (`gantry exec`). */
export interface InteractiveIO {
  /** Copied to the program's stdin until it ends; absent: EOF at once. */
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** A terminal for the session (raw bytes both ways; stderr comes on stdout then). */
  readonly pty?: { term: string; cols: number; rows: number };
  /** Called with a size change of the caller's terminal; returns how to stop following it. */
  readonly onResize?: (apply: (cols: number, rows: number) => void) => () => void;
}

/** The session closed with no exit status: whether the program ran is unknown. */
const UNREPORTED = Symbol('unreported');

export interface ExecResult {
  /** Exit status, or null when the program was killed by a signal. */
  readonly code: number | null;
  readonly signal?: string;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly truncated: boolean;
}

/** ssh2's preference order; the types known_hosts holds for a host are moved to the front. */
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

function hostKeyAlgorithms(knownTypes: string[]): string[] {
  // A recorded "ssh-rsa" key is presented with the rsa-sha2-* signature algorithms.
  const preferred = knownTypes.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
  return [...new Set([...preferred.filter((a) => HOST_KEY_ALGORITHMS.includes(a)), ...HOST_KEY_ALGORITHMS])];
}

/** A small counting semaphore: a connection runs at most N sessions at once (sshd's MaxSessions). */
class Slots {
  private waiting: Array<() => void> = [];
  constructor(private free: number) {}
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/**
 * One SSH connection to one host (ssh2, no `ssh` binary), reused for every command and
 * tunnel a Gantry command needs there. Host keys are checked against known_hosts before
 * any credential is sent; commands are argv arrays, quoted for the remote shell.
 */
export class SshConnection {
  readonly label: string;
  private closed = false;
  private closeListeners: Array<() => void> = [];
  private readonly sessions = new Slots(DEFAULTS.ssh.maxSessionsPerConnection);

  private constructor(
    private readonly client: SshClient,
    readonly endpoint: SshEndpoint,
    private readonly commandTimeoutMs: number,
  ) {
    this.label = endpoint.name;
    client.on('close', () => {
      this.closed = true;
      for (const l of this.closeListeners.splice(0)) l();
    });
    // After 'ready', errors (a dead host's keepalive timeout) surface as failed operations and 'close'.
    client.on('error', () => undefined);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  static async open(opts: SshConnectOptions): Promise<SshConnection> {
    const { endpoint } = opts;
    const where = `${endpoint.name} (${describeHost(endpoint)}${opts.via ? ` via ${opts.via.label}` : ''})`;
    const client = new Client();
    let hostKeyProblem: GantryError | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        client.destroy();
        reject(
          new GantryError('SSH_CONNECT_TIMEOUT', `could not connect to ${where} within ${opts.connectTimeoutMs} ms`, `check that the host is up and reachable${opts.via ? ' from the bastion' : ''} and that sshd listens on port ${endpoint.port}; raise connect_timeout for slow links`),
        );
      }, opts.connectTimeoutMs);
    });
    try {
      const sock = opts.via ? await Promise.race([opts.via.openTcp(endpoint.host, endpoint.port), timedOut]) : undefined;
      const known = readKnownHosts(opts.knownHostsFile);
      const config: ConnectConfig = {
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.user,
        ...(sock ? { sock } : {}),
        ...(opts.credentials.privateKey ? { privateKey: opts.credentials.privateKey, ...(opts.credentials.passphrase ? { passphrase: opts.credentials.passphrase } : {}) } : {}),
        ...(opts.credentials.agentSocket ? { agent: opts.credentials.agentSocket } : {}),
        // Our own timer bounds the whole connect; ssh2's is a backstop.
        readyTimeout: opts.connectTimeoutMs + 1_000,
        keepaliveInterval: DEFAULTS.ssh.keepaliveIntervalMs,
        keepaliveCountMax: DEFAULTS.ssh.keepaliveCountMax,
        algorithms: { serverHostKey: hostKeyAlgorithms(knownKeyTypes(known, endpoint.host, endpoint.port)) as never },
        hostVerifier: (key: Buffer): boolean => {
          hostKeyProblem = checkHostKey(opts, where, key);
          return hostKeyProblem === undefined;
        },
      };
      const ready = new Promise<void>((resolve, reject) => {
        client.once('ready', resolve);
        client.once('error', (e: Error & { level?: string; code?: string }) => reject(hostKeyProblem ?? connectError(e, where, opts)));
        client.connect(config);
      });
      await Promise.race([ready, timedOut]);
      return new SshConnection(client, endpoint, opts.commandTimeoutMs);
    } catch (e) {
      client.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs a program (argv[0]) with arguments on the host. Each argument reaches the program
   * literally: nothing is interpreted by the remote shell. A non-zero exit is a result, not an error.
   */
  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const retry = opts.retryUnreported ?? !(opts.stdin instanceof Readable || opts.stdout);
    for (let attempt = 1; ; attempt++) {
      const r = await this.execOnce(argv, opts);
      if (r !== UNREPORTED) return r;
      if (retry && attempt < DEFAULTS.ssh.unreportedAttempts) {
        // A host that just closed a session early (load, a fork that failed) often does so again at once: wait a little first.
        await new Promise((done) => setTimeout(done, 100 * attempt));
        continue;
      }
      throw new GantryError('SSH_COMMAND_FAILED', `${argv[0]} on ${this.label}: the session closed without an exit status (whether it ran is unknown)`, 'sshd ended the session early: check the host\'s load and its sshd log (journalctl -u ssh), then run the command again');
    }
  }

  private async execOnce(argv: readonly string[], opts: ExecOptions): Promise<ExecResult | typeof UNREPORTED> {
    const timeoutMs = opts.timeoutMs ?? this.commandTimeoutMs;
    // A stream is taken up now, not once a session is open (it may wait for a slot): Node
    // discards a child process's stdout that nobody reads when the child exits.
    const stdin = opts.stdin instanceof Readable ? takeUp(opts.stdin) : opts.stdin;
    // The host kills the program shortly after our own timer gives up (or if we vanish).
    const command = remoteCommandLine(argv, { killAfterMs: timeoutMs > 0 ? timeoutMs + DEFAULTS.ssh.remoteKillGraceMs : 0 });
    const max = opts.maxOutputBytes ?? DEFAULTS.ssh.maxCommandOutputBytes;
    const release = await this.sessions.take();
    try {
      const channel = await this.openSession(command, argv[0]!);
      return await new Promise<ExecResult | typeof UNREPORTED>((resolve, reject) => {
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const size = { out: 0, err: 0 };
        let truncated = false;
        let code: number | null = null;
        let signal: string | undefined;
        let exited = false;
        const collect = (into: Buffer[], which: 'out' | 'err') => (chunk: Buffer) => {
          const room = max - size[which];
          if (chunk.length > room) truncated = true;
          if (room > 0) into.push(room >= chunk.length ? chunk : chunk.subarray(0, room));
          size[which] += Math.min(room, chunk.length);
        };
        const sink = opts.stdout;
        channel.on('data', sink ? (chunk: Buffer) => {
          if (!sink.write(chunk)) {
            channel.pause();
            sink.once('drain', () => channel.resume());
          }
        } : collect(out, 'out'));
        channel.stderr.on('data', collect(err, 'err'));
        channel.on('exit', (c: number | null, sig?: string) => {
          exited = true;
          code = c ?? null;
          signal = sig ?? undefined;
        });
        const timer = timeoutMs <= 0 ? undefined : setTimeout(() => {
          // SIGKILL now where sshd allows it (non-root sessions); the remote `timeout` otherwise.
          killRemote(channel);
          channel.close();
          reject(new GantryError('SSH_COMMAND_TIMEOUT', `${argv[0]} did not finish within ${timeoutMs} ms on ${this.label}`, 'the command was killed; raise command_timeout if the host is just slow'));
        }, timeoutMs);
        channel.on('close', () => {
          clearTimeout(timer);
          if (!exited && !this.isOpen) reject(lostError(this.label, `running ${argv[0]}`));
          else if (!exited) resolve(UNREPORTED);
          else resolve({ code, ...(signal ? { signal } : {}), stdout: Buffer.concat(out), stderr: Buffer.concat(err), truncated });
        });
        feedStdin(channel, stdin, (e) => {
          channel.close();
          clearTimeout(timer);
          reject(new GantryError('SSH_CHANNEL_FAILED', `could not send input to ${argv[0]} on ${this.label}: ${e.message}`));
        });
      });
    } finally {
      release();
    }
  }

  /**
   * Runs a program with the caller's streams, for as long as it runs (no timeout): its output
   * is written as it arrives, `stdin` is copied in until it ends, and with `pty` the session
   * gets a terminal of that size (`resize` follows the caller's). Resolves with its exit status.
   */
  async stream(argv: readonly string[], io: InteractiveIO): Promise<{ code: number | null; signal?: string }> {
    const command = remoteCommandLine(argv);
    const release = await this.sessions.take();
    try {
      const channel = await this.channel((cb) => (io.pty ? this.client.exec(command, { pty: { term: io.pty.term, cols: io.pty.cols, rows: io.pty.rows } }, cb) : this.client.exec(command, cb)), `run ${argv[0]}`);
      const stopResize = io.onResize?.((cols, rows) => channel.setWindow(rows, cols, 0, 0));
      const onData = (d: Buffer): void => void channel.write(d);
      const onEnd = (): void => void channel.end();
      io.stdin?.on('data', onData);
      io.stdin?.once('end', onEnd);
      if (!io.stdin) channel.end();
      io.stdin?.resume();
      try {
        return await new Promise((resolve, reject) => {
          let code: number | null = null;
          let signal: string | undefined;
          let exited = false;
          channel.on('data', (d: Buffer) => io.stdout.write(d));
          channel.stderr.on('data', (d: Buffer) => io.stderr.write(d));
          channel.on('exit', (c: number | null, sig?: string) => {
            exited = true;
            code = c ?? null;
            signal = sig ?? undefined;
          });
          channel.on('close', () => (exited || this.isOpen ? resolve({ code, ...(signal ? { signal } : {}) }) : reject(lostError(this.label, `running ${argv[0]}`))));
        });
      } finally {
        io.stdin?.off('data', onData);
        io.stdin?.off('end', onEnd);
        io.stdin?.pause();
        stopResize?.();
      }
    } finally {
      release();
    }
  }

  /**
   * sshd counts a session until it has processed our close of it, so a session opened right
   * after another closed can be refused ("open failed") although we keep under MaxSessions:
   * such refusals are retried a few times, briefly.
   */
  private async openSession(command: string, program: string): Promise<ClientChannel> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.channel((cb) => this.client.exec(command, cb), `run ${program}`);
      } catch (e) {
        if (attempt >= 5 || !this.isOpen || !/open failed/i.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }

  /**
   * A TCP stream to host:port as seen from this host (a direct-tcpip channel): the way to an
   * agent's admin API on 127.0.0.1 without opening a port, and the hop through a bastion.
   */
  openTcp(host: string, port: number): Promise<ClientChannel> {
    return this.channel((cb) => this.client.forwardOut('127.0.0.1', 0, host, port, cb), `reach ${host}:${port}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const done = new Promise<void>((r) => this.onClose(r));
    this.client.end();
    const t = setTimeout(() => this.client.destroy(), 2_000);
    await done;
    clearTimeout(t);
  }

  private channel(open: (cb: (err: Error | undefined, ch: ClientChannel) => void) => void, what: string): Promise<ClientChannel> {
    if (this.closed) return Promise.reject(lostError(this.label, `trying to ${what}`));
    return new Promise((resolve, reject) => {
      try {
        open((err, ch) => (err ? reject(new GantryError('SSH_CHANNEL_FAILED', `${this.label} could not ${what}: ${err.message}`, 'check the program or port exists on the host, and that sshd allows it (AllowTcpForwarding for tunnels)')) : resolve(ch)));
      } catch (e) {
        reject(lostError(this.label, `trying to ${what}: ${(e as Error).message}`));
      }
    });
  }
}

/**
 * Sends SIGKILL to the session's program. ssh2's channel.signal() is silently a no-op once
 * our side of the channel is ended (stdin closed, as for most commands), though RFC 4254
 * allows the request until the channel is closed: send it through the protocol directly.
 */
function killRemote(channel: ClientChannel): void {
  const internal = channel as unknown as { outgoing?: { id: number; state: string }; _client?: { _protocol?: { signal(id: number, name: string): void } } };
  try {
    if ((internal.outgoing?.state === 'open' || internal.outgoing?.state === 'eof') && internal._client?._protocol) internal._client._protocol.signal(internal.outgoing.id, 'KILL');
    else channel.signal('KILL');
  } catch {
    /* the channel is already closing */
  }
}

/** Reads `source` from now on into a buffer-bounded pipe (backpressure pauses the source); its errors carry over. */
function takeUp(source: Readable): Readable {
  const through = new PassThrough();
  source.once('error', (e) => through.destroy(e));
  return source.pipe(through);
}

function feedStdin(channel: ClientChannel, stdin: ExecOptions['stdin'], onError: (e: Error) => void): void {
  if (stdin === undefined) channel.end();
  else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) channel.end(stdin);
  else {
    stdin.once('error', onError);
    stdin.pipe(channel);
  }
}

function lostError(label: string, doing: string): GantryError {
  return new GantryError('SSH_CONNECT_FAILED', `the connection to ${label} was lost ${doing}`, 'the host went down or the network dropped; check the host and run the command again');
}

function checkHostKey(opts: SshConnectOptions, where: string, key: Buffer): GantryError | undefined {
  const { host, port } = opts.endpoint;
  const verdict = verifyHostKey(readKnownHosts(opts.knownHostsFile), host, port, key);
  const fp = `${keyTypeOf(key)} ${fingerprint(key)}`;
  switch (verdict.kind) {
    case 'match':
      return undefined;
    case 'unknown':
      if (opts.trustOnFirstUse) {
        recordHostKey(opts.knownHostsFile, host, port, key);
        return undefined;
      }
      return new GantryError('SSH_HOST_KEY_UNKNOWN', `the host key of ${where} is not in ${opts.knownHostsFile} (it presented ${fp})`, `check the fingerprint with the host's owner, then add it (ssh-keyscan -p ${port} ${host} >> ${opts.knownHostsFile}) or set trust_on_first_use: true to record it on first connect`);
    case 'changed':
      return new GantryError(
        'SSH_HOST_KEY_CHANGED',
        `the host key of ${where} has CHANGED: it presented ${fp}, which does not match ${opts.knownHostsFile} line ${verdict.lines.join(', ')}`,
        `this can be a man-in-the-middle attack, or the host was rebuilt. If you are sure it was rebuilt, remove the old key (ssh-keygen -R ${port === 22 ? host : `'[${host}]:${port}'`} -f ${opts.knownHostsFile}) and connect again`,
      );
    case 'revoked':
      return new GantryError('SSH_HOST_KEY_CHANGED', `the host key of ${where} (${fp}) is marked @revoked in ${opts.knownHostsFile} line ${verdict.line}`, 'the host must get a new host key before Gantry connects to it');
  }
}

function connectError(e: Error & { level?: string; code?: string }, where: string, opts: SshConnectOptions): GantryError {
  if (e instanceof GantryError) return e;
  if (e.level === 'client-timeout') return new GantryError('SSH_CONNECT_TIMEOUT', `could not connect to ${where}: ${e.message}`, 'check that the host is up and sshd answers; raise connect_timeout for slow links');
  if (e.level === 'client-authentication') {
    const offered = [opts.credentials.keyLabel && `the key from ${opts.credentials.keyLabel}`, opts.credentials.agentSocket && 'the ssh-agent keys'].filter(Boolean).join(' and ');
    return new GantryError('SSH_AUTH_FAILED', `${where} refused to log in ${opts.endpoint.user} with ${offered || 'no key'}`, `add the public key to ~${opts.endpoint.user}/.ssh/authorized_keys on the host, or set key / user in the target`);
  }
  const reason = e.code === 'ECONNREFUSED' ? 'connection refused (is sshd running, and on this port?)' : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'host name not found' : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' ? 'host unreachable' : e.message;
  return new GantryError('SSH_CONNECT_FAILED', `could not connect to ${where}: ${reason}`, `check the host's address and port in the target${opts.via ? ' and that the bastion can reach it' : ''}`);
}
