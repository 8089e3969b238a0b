import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import ssh2 from 'ssh2';

const { utils } = ssh2;
import { GantryError } from '../../core/errors.js';
import type { KeySource } from './config.js';

/** What a connection authenticates with: a private key held in memory and/or the ssh-agent. */
export interface SshCredentials {
  /** PEM/OpenSSH text of the private key. Never logged. */
  readonly privateKey?: string;
  readonly passphrase?: string;
  /** Path of the ssh-agent's socket (SSH_AUTH_SOCK). */
  readonly agentSocket?: string;
  /** Where the key came from, for messages ("~/.ssh/deploy", "secret DEPLOY_KEY"): never the key. */
  readonly keyLabel?: string;
}

/** "~/x" and paths relative to the manifest's folder, as the manifest writes them. */
export function resolveUserPath(file: string, baseDir: string): string {
  if (file === '~' || file.startsWith('~/')) return join(homedir(), file.slice(1));
  return isAbsolute(file) ? file : resolve(baseDir, file);
}

/** Checks a private key now, so a bad one is a clear error rather than an authentication failure per host. */
export function checkPrivateKey(key: string, label: string, passphrase?: string): void {
  const parsed = utils.parseKey(key, passphrase);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase/i.test(parsed.message);
    throw new GantryError(
      'SSH_AUTH_FAILED',
      `the SSH private key from ${label} cannot be used: ${encrypted ? 'it is encrypted and no passphrase was given' : parsed.message}`,
      encrypted ? 'load it into ssh-agent (ssh-add) and leave `key` unset, or use an unencrypted deploy key kept in Gantry\'s secret store (key: { secret: NAME })' : 'give an OpenSSH or PEM private key (ssh-keygen -t ed25519 writes one)',
    );
  }
}

export interface CredentialSources {
  readonly key?: KeySource;
  readonly agent: boolean;
  /** Folder the manifest lives in (relative key paths). */
  readonly baseDir: string;
  /** Gantry's secret store: the value of a secret, in memory. */
  readonly readSecret?: (name: string) => Promise<string>;
  readonly env?: NodeJS.ProcessEnv;
}

/** Resolves the manifest's `key` / `agent` into credentials; fails clearly when there is nothing to log in with. */
export async function loadCredentials(src: CredentialSources): Promise<SshCredentials> {
  const env = src.env ?? process.env;
  const agentSocket = src.agent && env.SSH_AUTH_SOCK ? env.SSH_AUTH_SOCK : undefined;
  if (!src.key) {
    if (agentSocket) return { agentSocket };
    throw new GantryError('SSH_AUTH_FAILED', 'no SSH key to log in with: `key` is not set and no ssh-agent is running (SSH_AUTH_SOCK is unset)', 'set `key: ~/.ssh/deploy_ed25519` (or key: { secret: NAME }) in the target, or start ssh-agent and ssh-add your key');
  }
  let privateKey: string;
  let keyLabel: string;
  if ('secret' in src.key) {
    keyLabel = `secret ${src.key.secret}`;
    if (!src.readSecret) throw new GantryError('SECRET_MISSING', `the SSH key is the secret ${src.key.secret} but no secret store was opened`, `set it with \`gantry secrets set ${src.key.secret} < key-file\``);
    privateKey = await src.readSecret(src.key.secret);
  } else {
    const file = resolveUserPath(src.key.file, src.baseDir);
    keyLabel = src.key.file;
    try {
      privateKey = readFileSync(file, 'utf8');
    } catch (e) {
      throw new GantryError('SSH_AUTH_FAILED', `cannot read the SSH key ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check `key` in the target: a private key file readable by this user');
    }
  }
  checkPrivateKey(privateKey, keyLabel);
  return { privateKey, keyLabel, ...(agentSocket ? { agentSocket } : {}) };
}
