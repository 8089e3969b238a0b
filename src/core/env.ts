/** Variables a long-lived helper process (agent, reaper) must never carry: the age private key among them. */
const NEVER_IN_DAEMONS = ['GANTRY_AGE_IDENTITY'];

/** The CLI's environment minus secrets, for detached processes that outlive it. */
export function daemonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of NEVER_IN_DAEMONS) delete env[k];
  return env;
}
