/**
 * A health check as the manifest resolves it. One shape for the engine's gates
 * and the node agent's own probes (which cannot import the engine).
 */
export interface HealthSpec {
  type: 'http' | 'tcp' | 'command';
  path: string;
  command?: string;
  expectStatus?: number;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}
