/**
 * Detached helper: after a blue-green switch the previous containers stay warm
 * for `keep_previous`; this stops and removes one when that time is up, unless
 * it has been routed again meanwhile (a switch-back).
 */
import { parseArgs } from 'node:util';
import { AgentClient } from '../../agent/client.js';
import { dockerClient } from './engine-client.js';

const { values } = parseArgs({ options: { container: { type: 'string' }, instance: { type: 'string' }, after: { type: 'string' }, timeout: { type: 'string' }, 'agent-dir': { type: 'string' }, 'docker-host': { type: 'string' } } });
await new Promise((r) => setTimeout(r, Number(values.after)));
const agent = await AgentClient.find(values['agent-dir']!);
const routed = agent ? (await agent.backends()).some((b) => b.id === values.instance) : false;
if (!routed) {
  // Forgotten first, so the agent does not start again what the reaper stops.
  await agent?.forgetContainer(values.instance!).catch(() => undefined);
  const c = dockerClient(values['docker-host']).getContainer(values.container!);
  await c.stop({ t: Math.ceil(Number(values.timeout) / 1000) }).catch(() => undefined);
  await c.remove({ force: true }).catch(() => undefined);
}
