import { Counter, Gauge, Registry } from 'prom-client';
import type { InstanceState } from '../supervisor/index.js';

interface ProxyStatsLike {
  releases: Array<{ release: string; requests: number; errors5xx: number; connectErrors: number; inflight: number; p50Ms: number; p90Ms: number; p99Ms: number }>;
}

type Source = () => { stats: ProxyStatsLike; instances: InstanceState[] };

/**
 * Prometheus metrics of the agent's proxy (per release) and supervisor (per
 * instance), read from their live figures at scrape time (`collect`): the
 * proxy and the supervisor stay the only source of truth.
 */
export function createMetrics(read: Source): Registry {
  const registry = new Registry();
  const perRelease = (name: string, help: string, pick: (r: ProxyStatsLike['releases'][number]) => number, kind: 'counter' | 'gauge'): void => {
    const Metric = kind === 'counter' ? Counter : Gauge;
    new Metric({
      name,
      help,
      labelNames: ['release'],
      registers: [registry],
      collect(this: Counter<'release'> | Gauge<'release'>) {
        this.reset();
        for (const r of read().stats.releases) (this as Gauge<'release'>).inc({ release: r.release }, pick(r));
      },
    });
  };
  perRelease('gantry_proxy_requests_total', 'Requests proxied, per release', (r) => r.requests, 'counter');
  perRelease('gantry_proxy_errors_5xx_total', '5xx responses, per release', (r) => r.errors5xx, 'counter');
  perRelease('gantry_proxy_connect_errors_total', 'Upstream connection failures, per release', (r) => r.connectErrors, 'counter');
  perRelease('gantry_proxy_inflight', 'In-flight requests, per release', (r) => r.inflight, 'gauge');
  new Gauge({
    name: 'gantry_proxy_latency_ms',
    help: 'Latency percentiles over the recent window, per release',
    labelNames: ['release', 'quantile'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of read().stats.releases) {
        this.set({ release: r.release, quantile: '0.5' }, r.p50Ms);
        this.set({ release: r.release, quantile: '0.9' }, r.p90Ms);
        this.set({ release: r.release, quantile: '0.99' }, r.p99Ms);
      }
    },
  });
  new Counter({
    name: 'gantry_instance_restarts_total',
    help: 'Supervisor restarts, per instance',
    labelNames: ['instance'],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of read().instances) this.inc({ instance: i.id }, i.restarts);
    },
  });
  return registry;
}
