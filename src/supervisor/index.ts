export { Supervisor, type InstanceSpec, type InstanceState, type InstanceRunState, type SupervisorOptions } from './supervisor.js';
export { tailLines, followLog, type FollowOptions } from './tail.js';
export { LogFile, type LogStream } from './log-file.js';
export { Backoff } from './backoff.js';
