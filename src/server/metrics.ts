/** Prometheus metrics of the server: HTTP latency, deploys by target and status, durations, queue depth. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobQueue } from './jobs/queue.js';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly http = new Histogram({ name: 'gantry_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route', 'status'], buckets: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly deploys = new Counter({ name: 'gantry_deploys_total', help: 'Jobs finished, by kind, target and final status', labelNames: ['kind', 'target', 'status'], registers: [this.registry] });
  readonly durations = new Histogram({ name: 'gantry_deploy_duration_seconds', help: 'How long a job ran', labelNames: ['kind', 'target'], buckets: [1, 5, 10, 30, 60, 120, 300, 600], registers: [this.registry] });

  constructor(queue: JobQueue) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'gantry_job_queue_depth',
      help: 'Jobs queued or running',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const d = await queue.depth();
        this.set({ state: 'queued' }, d.queued);
        this.set({ state: 'running' }, d.running);
      },
    });
  }
}
