import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type RunOutcome = 'done' | 'retry' | 'dead' | 'superseded' | 'lost' | 'ok' | 'failed' | 'skipped';

/** What the runner reports; a no-op without a registry. */
export interface JobsMetrics {
  fireLag(seconds: number): void;
  run(kind: string, outcome: RunOutcome): void;
}

const noop: JobsMetrics = { fireLag: () => {}, run: () => {} };

/**
 * Registers the job metrics on `registry` (never the global default registry, so several
 * kernels can live in one test process). A registry that already has them is reused.
 */
export function createJobsMetrics(registry: Registry | undefined, depth: () => Promise<{ due: number; pending: number }>): JobsMetrics {
  if (!registry) return noop;
  const lag =
    (registry.getSingleMetric('opsdeck_jobs_fire_lag_seconds') as Histogram | undefined) ??
    new Histogram({
      name: 'opsdeck_jobs_fire_lag_seconds',
      help: 'Delay from a job being due to its handler starting',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
  const runs =
    (registry.getSingleMetric('opsdeck_jobs_runs_total') as Counter<'kind' | 'outcome'> | undefined) ??
    new Counter({
      name: 'opsdeck_jobs_runs_total',
      help: 'Job and recurring task runs by kind and outcome',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    });
  if (!registry.getSingleMetric('opsdeck_jobs_queue_depth')) {
    new Gauge({
      name: 'opsdeck_jobs_queue_depth',
      help: 'Pending jobs: all of them (state=pending) and those already due (state=due)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const d = await depth();
        this.set({ state: 'pending' }, d.pending);
        this.set({ state: 'due' }, d.due);
      },
    });
  }
  return {
    fireLag: (seconds) => lag.observe(Math.max(0, seconds)),
    run: (kind, outcome) => runs.inc({ kind, outcome }),
  };
}
