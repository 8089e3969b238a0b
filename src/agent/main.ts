/** Entry point of the host agent: `node dist/agent/main.js --dir DIR --host H --port N [--backend systemd --unit-prefix P]`. */
import { parseArgs } from 'node:util';
import { runAgent } from './daemon.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, backend: { type: 'string' }, 'unit-prefix': { type: 'string' } } });
if (!values.dir || !values.port) {
  process.stderr.write('usage: agent --dir DIR --host HOST --port PORT\n');
  process.exit(2);
}
if (values.backend !== undefined && values.backend !== 'supervisor' && values.backend !== 'systemd') {
  process.stderr.write('agent: --backend is supervisor or systemd\n');
  process.exit(2);
}
// No top-level await: the local agent runs as a CommonJS script (launch.ts). A failure still ends the process as an uncaught error.
runAgent({ dir: values.dir, proxyHost: values.host ?? '127.0.0.1', proxyPort: Number(values.port), backend: values.backend, unitPrefix: values['unit-prefix'] }).catch((err: unknown) => {
  setImmediate(() => {
    throw err;
  });
});
