// The fleet bench's peer: an Ansible playbook doing the deploy Gantry's ssh target does
// (Debian's `ansible` package): synchronize the app's files, template the env file and
// the systemd unit, (re)start it with the systemd module, and wait for /health with uri
// on each host. forks = host count, pipelining on, no fact gathering, the ssh
// connection's defaults otherwise (ControlPersist=60s multiplexing included). The json
// stdout callback gives each task's wall time (linear strategy: first host's start to
// the last host's result).
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { aborted, alive, killPid, onCleanup } from './cleanup.js';
import { now } from './timing.js';

const run = promisify(execFile);

const onPath = (cmd) => process.env.PATH.split(':').some((d) => existsSync(join(d, cmd)));

/**
 * ansible-playbook (with the ansible.posix collection, in Debian's `ansible`) and rsync
 * (synchronize runs it on this side; the hosts' image has its own): installed with apt-get
 * when missing. Resolves what was installed ([] when nothing was), throws with the reason.
 */
export async function ensureAnsible(log) {
  const missing = [];
  if (!onPath('ansible-playbook') || !existsSync('/usr/lib/python3/dist-packages/ansible_collections/ansible/posix')) missing.push('ansible');
  if (!onPath('rsync')) missing.push('rsync');
  if (!missing.length) return [];
  log(`  installing ${missing.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...args) => run('apt-get', args, { env, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
  try {
    await apt('install', '-y', '--no-install-recommends', ...missing);
  } catch {
    await apt('update');
    await apt('install', '-y', '--no-install-recommends', ...missing);
  }
  return missing;
}

export async function ansibleVersion() {
  const r = await run('ansible-playbook', ['--version']).catch(() => ({ stdout: '' }));
  return r.stdout.split('\n')[0].trim();
}

const PLAYBOOK = `# The same deploy as Gantry's ssh target, the Ansible way.
- hosts: fleet
  gather_facts: false
  vars:
    app_dir: "/opt/ansible-bench/{{ app }}"
  tasks:
    - name: app directory
      ansible.builtin.file:
        path: "{{ app_dir }}"
        state: directory
        mode: "0755"
    - name: ship the release
      ansible.posix.synchronize:
        src: "{{ src }}/"
        dest: "{{ app_dir }}/app/"
        delete: true
        use_ssh_args: true
        verify_host: true
    - name: env file
      ansible.builtin.template:
        src: app.env.j2
        dest: "{{ app_dir }}/app.env"
        mode: "0600"
    - name: systemd unit
      ansible.builtin.template:
        src: app.service.j2
        dest: "/etc/systemd/system/{{ app }}.service"
        mode: "0644"
      register: unit
    - name: start
      ansible.builtin.systemd:
        name: "{{ app }}"
        state: restarted
        enabled: true
        daemon_reload: "{{ unit.changed }}"
    - name: health check
      ansible.builtin.uri:
        url: "http://127.0.0.1:{{ app_port }}/health"
      register: health
      until: health.status == 200 and health.json.release == release
      retries: 30
      delay: 1
`;

const ENV_TEMPLATE = `PORT={{ app_port }}
HOST=0.0.0.0
GANTRY_RELEASE={{ release }}
GREETING=hello from node
`;

const UNIT_TEMPLATE = `[Unit]
Description={{ app }} (deployed by the Ansible bench peer)
After=network.target

[Service]
WorkingDirectory={{ app_dir }}/app
EnvironmentFile={{ app_dir }}/app.env
ExecStart=/usr/bin/node server.js
Restart=on-failure

[Install]
WantedBy=multi-user.target
`;

/**
 * An Ansible project in `dir`: inventory of `hosts`, ansible.cfg (forks = host count),
 * the playbook and its templates, and `src` (the app's files, a copy the caller changes).
 */
export function writeAnsibleProject(dir, { hosts, keyFile, knownHostsFile, appDir, connectTimeoutS = 10 }) {
  mkdirSync(join(dir, 'templates'), { recursive: true });
  mkdirSync(join(dir, 'cp'), { recursive: true });
  const src = join(dir, 'src');
  cpSync(appDir, src, { recursive: true, filter: (p) => !p.split('/').includes('.gantry') });
  writeFileSync(join(dir, 'inventory.ini'), `[fleet]\n${hosts.map((h) => h.ip).join('\n')}\n`);
  const sshArgs = `-C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${knownHostsFile} -o StrictHostKeyChecking=yes`;
  writeFileSync(
    join(dir, 'ansible.cfg'),
    [
      '[defaults]',
      'inventory = inventory.ini',
      `forks = ${hosts.length}`,
      'remote_user = root',
      `private_key_file = ${keyFile}`,
      'host_key_checking = True',
      'interpreter_python = /usr/bin/python3',
      'retry_files_enabled = False',
      `timeout = ${connectTimeoutS}`,
      'stdout_callback = ansible.posix.json',
      `local_tmp = ${join(dir, 'tmp')}`,
      '',
      '[ssh_connection]',
      'pipelining = True',
      `ssh_args = ${sshArgs}`,
      `control_path_dir = ${join(dir, 'cp')}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'deploy.yml'), PLAYBOOK);
  writeFileSync(join(dir, 'templates', 'app.env.j2'), ENV_TEMPLATE);
  writeFileSync(join(dir, 'templates', 'app.service.j2'), UNIT_TEMPLATE);
  const project = { dir, src, hosts };
  // The ssh ControlPersist masters outlive the playbook by up to 60 s: stopped by pid (found
  // by their control socket path under this project) when the bench ends.
  project.cleanup = onCleanup(`ansible project ${dir}`, () => stopControlMasters(dir));
  return project;
}

/** ssh control masters whose command line names this project's control dir. */
function controlMasterPids(dir) {
  const needle = join(dir, 'cp');
  const pids = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('ssh') && cmd.some((a) => a.includes(needle))) pids.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return pids;
}

export async function stopControlMasters(dir) {
  for (const pid of controlMasterPids(dir)) if (alive(pid)) await killPid(pid, { graceMs: 1000 });
}

/**
 * Runs the playbook with `vars` (app, app_port, release). Resolves { code, wallMs, stats, tasks,
 * failed } where tasks is [{ name, ms }] in order and failed names the hosts that did not
 * end ok. The playbook is killed (by its pid) past timeoutMs.
 */
export function runPlaybook(project, vars, { timeoutMs = 600_000 } = {}) {
  if (aborted()) return Promise.resolve({ code: 'aborted', wallMs: NaN, tasks: [], failed: ['(aborted)'], stats: {} });
  const extra = JSON.stringify({ ...vars, src: project.src });
  return new Promise((resolvePromise) => {
    const t0 = now();
    const child = spawn('ansible-playbook', ['deploy.yml', '-e', extra], {
      cwd: project.dir,
      env: { ...process.env, ANSIBLE_CONFIG: join(project.dir, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const unregister = onCleanup(`ansible-playbook pid ${child.pid}`, () => killPid(child.pid, { group: true, graceMs: 3000 }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void killPid(child.pid, { group: true, graceMs: 2000 });
    }, timeoutMs);
    child.on('error', (err) => (stderr += err.message));
    child.on('close', (code) => {
      clearTimeout(timer);
      unregister.cancel();
      const wallMs = now() - t0;
      let doc;
      try {
        doc = JSON.parse(stdout.slice(stdout.indexOf('{')));
      } catch {
        doc = undefined;
      }
      const stats = doc?.stats ?? {};
      const tasks = (doc?.plays ?? []).flatMap((p) => p.tasks).map((t) => ({ name: t.task.name, ms: Math.round(Date.parse(t.task.duration.end) - Date.parse(t.task.duration.start)) }));
      const failed = project.hosts.map((h) => h.ip).filter((ip) => !stats[ip] || stats[ip].failures || stats[ip].unreachable);
      // The first failure's message, for the report.
      let problem;
      for (const t of doc?.plays?.flatMap((p) => p.tasks) ?? []) {
        const bad = Object.entries(t.hosts).find(([, r]) => r.failed || r.unreachable);
        if (bad) {
          problem = `${t.task.name} on ${bad[0]}: ${bad[1].msg ?? JSON.stringify(bad[1]).slice(0, 300)}`;
          break;
        }
      }
      resolvePromise({ code: timedOut ? 'timeout' : code, wallMs, stats, tasks, failed, problem: problem ?? (doc ? undefined : (stderr || stdout).slice(0, 1000)) });
    });
  });
}
