/** Entry point of the detached host agent: `node dist/agent/main.js --dir DIR --host H --port N`. */
import { parseArgs } from 'node:util';
import { runAgent } from './daemon.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } } });
if (!values.dir || !values.port) {
  process.stderr.write('usage: agent --dir DIR --host HOST --port PORT\n');
  process.exit(2);
}
await runAgent({ dir: values.dir, proxyHost: values.host ?? '127.0.0.1', proxyPort: Number(values.port) });
