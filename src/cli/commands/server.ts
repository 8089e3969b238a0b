/** `gantry server` (the control-plane API), and `gantry keys` / `gantry audit` working directly on its data dir. */
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import { c, Output, reportError } from '../output.js';

interface DataOpts {
  dataDir: string;
  database?: string;
  json?: boolean;
}

const withData = (cmd: Command): Command =>
  cmd
    .addOption(new Option('--data-dir <dir>', 'the server\'s data dir (its SQLite database, the engine\'s state, secrets)').env('GANTRY_SERVER_DATA').default('.gantry-server'))
    .addOption(new Option('--database <url>', 'postgres://… to keep the server\'s tables in PostgreSQL (default: SQLite in the data dir)').env('GANTRY_DATABASE'))
    .option('--json', 'print one JSON document on stdout');

async function withDb<T>(opts: DataOpts, fn: (db: Awaited<ReturnType<typeof import('../../server/db/open.js').openServerDb>>['db']) => Promise<T>): Promise<T> {
  const { openServerDb } = await import('../../server/db/open.js');
  const { defaultDatabase } = await import('../../server/server.js');
  const sdb = await openServerDb(opts.database ?? defaultDatabase(opts.dataDir));
  try {
    return await fn(sdb.db);
  } finally {
    await sdb.close();
  }
}

function act<O extends DataOpts>(fn: (opts: O, out: Output, ...args: string[]) => Promise<number>) {
  return async (...argv: unknown[]): Promise<void> => {
    const cmd = argv[argv.length - 1] as Command;
    const opts = cmd.opts() as O;
    const out = new Output(Boolean(opts.json));
    try {
      process.exitCode = await fn(opts, out, ...argv.slice(0, -2).filter((a): a is string => typeof a === 'string'));
    } catch (err) {
      process.exitCode = reportError(err, Boolean(opts.json), resolve(opts.dataDir, 'gantry-error.log'));
    }
  };
}

export function registerServer(program: Command): void {
  withData(program.command('server'))
    .description('run the control-plane API: projects, apps, keys, deployments as durable jobs, live events (see /api/v1/docs)')
    .option('--host <addr>', 'address to listen on', DEFAULTS.server.host)
    .option('--port <n>', 'port to listen on (0: any free port)', String(DEFAULTS.server.port))
    .option('--workers <n>', 'jobs run at once by this server', String(DEFAULTS.server.workers))
    .option('--lease <ms>', 'how long a job\'s claim lasts without renewal (a dead server\'s jobs are taken over after it)', String(DEFAULTS.server.jobLeaseMs))
    .option('--auth-limit <n>', 'failed authentications per client address per minute before 429', String(DEFAULTS.server.authFailuresPerWindow))
    .option('--init-admin', 'when no key exists yet, create a server-wide admin key and print it once')
    .option('--log-level <level>', 'pino log level', 'info')
    .addOption(new Option('--notify-webhook <url>', 'POST signed JSON notices (deploy start, success, failure, rollback) here; the HMAC secret is read from GANTRY_NOTIFY_SECRET (never argv). A Slack-compatible url may be given in GANTRY_NOTIFY_SLACK_URL').env('GANTRY_NOTIFY_WEBHOOK'))
    .addHelpText('after', '\nExamples:\n  gantry server --init-admin --data-dir /var/lib/gantry\n  gantry server --database postgres://gantry@127.0.0.1/gantry --port 7070')
    .action(
      act<DataOpts & { host: string; port: string; workers: string; lease: string; initAdmin?: boolean; logLevel: string; authLimit: string; notifyWebhook?: string }>(async (opts, out) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new GantryError('USAGE', `--port wants a port number, got "${opts.port}"`, 'e.g. --port 7070');
        const notify = notifyChannels(opts.notifyWebhook, process.env);
        if (opts.initAdmin) {
          const token = await withDb(opts, async (db) => {
            const { createKey } = await import('../../server/auth/keys.js');
            const any = await db.selectFrom('api_keys').select('id').where('revoked_at', 'is', null).executeTakeFirst();
            return any ? undefined : (await createKey(db, { projectId: null, role: 'admin', name: 'initial admin' })).token;
          });
          if (token) process.stdout.write(`admin key (shown once, store it now): ${token}\n`);
          else out.info('--init-admin: keys exist already; no new key was made (`gantry keys create` makes one)');
        }
        const { startServer } = await import('../../server/server.js');
        const s = await startServer({ dataDir: opts.dataDir, database: opts.database, host: opts.host, port, workers: Number(opts.workers), leaseMs: Number(opts.lease), logLevel: opts.logLevel, authFailureLimit: Number(opts.authLimit), notify });
        process.stdout.write(`listening on ${s.url}\n`);
        // The first signal stops taking requests and jobs and lets running jobs end; a second exits at once
        // (a job cut short is resumed from the engine's stored plan by the next server on this data dir).
        await new Promise<void>((done) => {
          let stopping = false;
          const stop = (): void => {
            if (stopping) process.exit(130);
            stopping = true;
            out.info('stopping: running jobs finish first (send the signal again to exit now)');
            void s.close().then(done, done);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        return 0;
      }),
    );

  const keys = program.command('keys').description('API keys of the server (run where its data dir or database is)');
  withData(keys.command('create'))
    .description('create a key and print its token once')
    .requiredOption('--role <role>', 'viewer, deployer or admin')
    .option('--project <id>', 'the project it is scoped to (made if missing); none: a server-wide admin')
    .option('--name <text>', 'what the key is for', 'cli')
    .action(
      act<DataOpts & { role: string; project?: string; name: string }>(async (opts, out) => {
        if (!['viewer', 'deployer', 'admin'].includes(opts.role)) throw new GantryError('USAGE', `--role is viewer, deployer or admin, not "${opts.role}"`, 'e.g. --role deployer --project web');
        if (!opts.project && opts.role !== 'admin') throw new GantryError('USAGE', 'a viewer or deployer key belongs to a project', 'add --project <id>');
        if (opts.project && !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(opts.project)) throw new GantryError('USAGE', `invalid project id "${opts.project}"`, 'lowercase letters, digits, "-" and "_"');
        const r = await withDb(opts, async (db) => {
          const { createKey } = await import('../../server/auth/keys.js');
          if (opts.project && !(await db.selectFrom('projects').select('id').where('id', '=', opts.project).executeTakeFirst())) {
            await db.insertInto('projects').values({ id: opts.project, name: opts.project, max_apps: DEFAULTS.server.maxApps, max_concurrent_deploys: DEFAULTS.server.maxConcurrentDeploys, created_at: new Date().toISOString() }).execute();
          }
          return createKey(db, { projectId: opts.project ?? null, role: opts.role as 'admin', name: opts.name });
        });
        out.result({ ...r.key, token: r.token }, () => [`${c.green('✓')} key ${r.key.id} (${r.key.role}${r.key.project_id ? ` of ${r.key.project_id}` : ', server-wide'}) created; its token is shown once, store it now:`, r.token]);
        return 0;
      }),
    );
  withData(keys.command('list'))
    .description('the keys (never their tokens)')
    .action(
      act<DataOpts>(async (opts, out) => {
        const list = await withDb(opts, async (db) => (await import('../../server/auth/keys.js')).listKeys(db));
        out.result(list, () => (list.length ? list.map((k) => `${k.id}  ${k.role.padEnd(8)} ${(k.project_id ?? '*').padEnd(16)} ${k.revoked_at ? c.red(`revoked ${k.revoked_at}`) : 'active'}  ${k.name}`) : ['no keys']));
        return 0;
      }),
    );
  withData(keys.command('revoke <id>'))
    .description('revoke a key: refused from then on (a running server within its key cache time)')
    .action(
      act<DataOpts>(async (opts, out, id) => {
        const done = await withDb(opts, async (db) => (await import('../../server/auth/keys.js')).revokeKey(db, id!));
        if (!done) throw new GantryError('USAGE', `no active key ${id}`, '`gantry keys list` shows them');
        out.result({ id, revoked: true }, () => `${c.green('✓')} key ${id} revoked`);
        return 0;
      }),
    );

  withData(program.command('audit'))
    .description('the server\'s audit log: who (key id) did what, when and from where, newest first')
    .option('-n, --lines <n>', 'how many records', '50')
    .action(
      act<DataOpts & { lines: string }>(async (opts, out) => {
        const n = Number(opts.lines);
        if (!Number.isInteger(n) || n < 1) throw new GantryError('USAGE', `-n wants a whole number, got "${opts.lines}"`, 'e.g. gantry audit -n 20');
        const rows = await withDb(opts, (db) => db.selectFrom('audit').selectAll().orderBy('at', 'desc').limit(n).execute());
        out.result(rows, () => (rows.length ? rows.map((r) => `${r.at}  ${(r.key_id ?? '-').padEnd(24)} ${r.method.padEnd(6)} ${r.path}  ${r.status}  from ${r.ip}`) : ['no audit records']));
        return 0;
      }),
    );
}

/** The notification channels of `gantry server`: secrets and Slack urls (credentials themselves) come from the environment only. */
function notifyChannels(webhook: string | undefined, env: NodeJS.ProcessEnv): Array<{ type: 'webhook'; url: string; secret: string } | { type: 'slack'; url: string }> {
  const out: Array<{ type: 'webhook'; url: string; secret: string } | { type: 'slack'; url: string }> = [];
  const httpUrl = (u: string, what: string): string => {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(u).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new GantryError('USAGE', `${what} is not an http(s) url`, 'e.g. https://hooks.example.com/gantry');
    return u;
  };
  if (webhook) {
    const secret = env.GANTRY_NOTIFY_SECRET;
    if (!secret || secret.length < 16) throw new GantryError('USAGE', '--notify-webhook needs GANTRY_NOTIFY_SECRET (at least 16 characters) to sign its notices', 'export GANTRY_NOTIFY_SECRET=$(openssl rand -hex 32)');
    out.push({ type: 'webhook', url: httpUrl(webhook, '--notify-webhook'), secret });
  }
  if (env.GANTRY_NOTIFY_SLACK_URL) out.push({ type: 'slack', url: httpUrl(env.GANTRY_NOTIFY_SLACK_URL, 'GANTRY_NOTIFY_SLACK_URL') });
  return out;
}
