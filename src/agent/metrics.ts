import type { InstanceState } from '../supervisor/index.js';

interface ProxyStatsLike {
  releases: Array<{ release: string; requests: number; errors5xx: number; connectErrors: number; inflight: number; p50Ms: number; p90Ms: number; p99Ms: number }>;
}

/** Prometheus text exposition of the proxy's per-release figures and the supervisor's restarts. */
export function renderMetrics(stats: ProxyStatsLike, instances: InstanceState[]): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, type: string, rows: Array<[Record<string, string>, number]>): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) {
      const l = Object.entries(labels).map(([k, val]) => `${k}="${val.replace(/["\\\n]/g, '_')}"`).join(',');
      lines.push(`${name}{${l}} ${v}`);
    }
  };
  metric('gantry_proxy_requests_total', 'Requests proxied per release', 'counter', stats.releases.map((r) => [{ release: r.release }, r.requests]));
  metric('gantry_proxy_errors_5xx_total', '5xx responses per release', 'counter', stats.releases.map((r) => [{ release: r.release }, r.errors5xx]));
  metric('gantry_proxy_connect_errors_total', 'Upstream connect failures per release', 'counter', stats.releases.map((r) => [{ release: r.release }, r.connectErrors]));
  metric('gantry_proxy_inflight', 'In-flight requests per release', 'gauge', stats.releases.map((r) => [{ release: r.release }, r.inflight]));
  metric(
    'gantry_proxy_latency_ms',
    'Latency percentiles per release (recent window)',
    'gauge',
    stats.releases.flatMap((r) => [
      [{ release: r.release, quantile: '0.5' }, r.p50Ms] as [Record<string, string>, number],
      [{ release: r.release, quantile: '0.9' }, r.p90Ms] as [Record<string, string>, number],
      [{ release: r.release, quantile: '0.99' }, r.p99Ms] as [Record<string, string>, number],
    ]),
  );
  metric('gantry_instance_restarts_total', 'Supervisor restarts per instance', 'counter', instances.map((i) => [{ instance: i.id }, i.restarts]));
  return lines.join('\n') + '\n';
}
