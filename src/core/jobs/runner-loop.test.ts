import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../testing/databases.js';
import { DIALECTS } from '../../testing/databases.js';
import type { Jobs } from './jobs.js';
import { deferred, ObservedClock, openJobsDatabase, quietLogger, within } from './jobs.test-support.js';
import { type CreateJobsOptions, createJobs } from './runner.js';

/** The background loop started by start(): it sleeps until the next due time, and is woken early. */
describe.each(DIALECTS)('job runner loop on %s', (dialect) => {
  let database: TestDatabase;
  let clock: ObservedClock;
  const instances: Jobs[] = [];

  const make = (options: Partial<CreateJobsOptions> = {}): Jobs => {
    // A long poll interval: anything that runs on time was woken precisely, not found by polling.
    const jobs = createJobs({
      database,
      clock,
      logger: quietLogger(),
      pollIntervalMs: 600_000,
      owner: `loop-${instances.length}`,
      ...options,
    });
    instances.push(jobs);
    return jobs;
  };

  beforeEach(async () => {
    database = await openJobsDatabase(dialect);
    clock = new ObservedClock('2026-03-01T00:00:00Z');
  });

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((j) => j.stop(0)));
    await database.destroy();
  });

  it('sleeps until the earliest due time and fires then, not before', async () => {
    const jobs = make();
    const fired = deferred<number>();
    let firedAt: number | undefined;
    jobs.handle('alarm', async () => {
      firedAt = clock.now();
      fired.resolve(firedAt);
    });
    await jobs.start();
    const job = await jobs.schedule('alarm', {}, { delayMs: 7000 });
    await within(clock.timerAt(job.runAt), 5000, 'the loop to arm a timer for the due time');
    clock.advance(6999);
    await Promise.resolve();
    expect(firedAt).toBeUndefined();
    clock.advance(1);
    expect(await within(fired.promise, 5000, 'the alarm')).toBe(job.runAt);
  });

  it('wakes early when a sooner job is scheduled while it sleeps', async () => {
    const jobs = make();
    const runs = [deferred<number>(), deferred<number>()];
    const order: string[] = [];
    jobs.handle('step', async ({ job }) => {
      order.push(String(job.payload));
      runs[order.length - 1]!.resolve(clock.now());
    });
    await jobs.start();
    const late = await jobs.schedule('step', 'late', { delayMs: 60_000 });
    await within(clock.timerAt(late.runAt), 5000, 'the loop to sleep until the late job');
    const soon = await jobs.schedule('step', 'soon', { delayMs: 1000 });
    await within(clock.timerAt(soon.runAt), 5000, 'the loop to re-arm for the sooner job');
    clock.advance(1000);
    expect(await within(runs[0]!.promise, 5000, 'the sooner job')).toBe(soon.runAt);
    await within(clock.timerAt(late.runAt), 5000, 'the loop to sleep until the late job again');
    clock.advance(59_000);
    expect(await within(runs[1]!.promise, 5000, 'the later job')).toBe(late.runAt);
    expect(order).toEqual(['soon', 'late']);
  });

  it('runs a job due now right away and one scheduled from inside a committed transaction', async () => {
    const jobs = make();
    const seen: unknown[] = [];
    const both = deferred();
    jobs.handle('now', async ({ job }) => {
      seen.push(job.payload);
      if (seen.length === 2) both.resolve();
    });
    await jobs.start();
    await jobs.schedule('now', 'plain');
    await database.db.transaction().execute((tx) => jobs.schedule('now', 'in-tx', { tx }));
    await within(both.promise, 5000, 'both jobs');
    expect(seen.sort()).toEqual(['in-tx', 'plain']);
  });

  it('picks up jobs another replica scheduled: via NOTIFY on PostgreSQL, by polling on SQLite', async () => {
    const worker = make({ owner: 'worker', pollIntervalMs: 30_000 });
    const api = make({ owner: 'api' });
    const ran = deferred<string>();
    worker.handle('remote', async ({ job }) => ran.resolve(String(job.payload)));
    const started = clock.now();
    await worker.start();
    await within(clock.timerAt(started + 30_000), 5000, 'the worker to go to sleep');
    await api.schedule('remote', 'from-api');
    if (dialect === 'sqlite') clock.advance(30_000);
    expect(await within(ran.promise, 5000, 'the worker to run the job')).toBe('from-api');
  });

  it('keeps at most `concurrency` handlers in flight and refills slots as they finish', async () => {
    const jobs = make({ concurrency: 2 });
    let running = 0;
    let peak = 0;
    const gates = Array.from({ length: 5 }, () => deferred());
    const allDone = deferred();
    let finished = 0;
    jobs.handle('work', async ({ job }) => {
      running++;
      peak = Math.max(peak, running);
      await gates[Number(job.payload)]!.promise;
      running--;
      if (++finished === 5) allDone.resolve();
    });
    for (let i = 0; i < 5; i++) await jobs.schedule('work', i);
    await jobs.start();
    for (const gate of gates) gate.resolve();
    await within(allDone.promise, 5000, 'all five jobs');
    expect(peak).toBeLessThanOrEqual(2);
    // stop() lets the outcomes of finished handlers land.
    await jobs.stop(0);
    expect((await jobs.list({ state: 'done' })).length).toBe(5);
  });

  it('exports fire lag, runs and queue depth to the given registry', async () => {
    const registry = new Registry();
    const jobs = make({ metrics: registry, random: () => 0 });
    jobs.handle('measured', async ({ job }) => {
      if (job.payload === 'fail') throw new Error('nope');
    });
    await jobs.schedule('measured', 'ok');
    await jobs.schedule('measured', 'fail', { maxAttempts: 1 });
    await jobs.schedule('measured', 'later', { delayMs: 60_000 });
    clock.advance(250);
    expect(await jobs.runDue()).toBe(2);
    const text = await registry.metrics();
    expect(text).toContain('opsdeck_jobs_runs_total{kind="measured",outcome="done"} 1');
    expect(text).toContain('opsdeck_jobs_runs_total{kind="measured",outcome="dead"} 1');
    expect(text).toContain('opsdeck_jobs_fire_lag_seconds_bucket{le="0.25"} 2');
    expect(text).toContain('opsdeck_jobs_fire_lag_seconds_bucket{le="0.1"} 0');
    expect(text).toContain('opsdeck_jobs_queue_depth{state="pending"} 1');
    expect(text).toContain('opsdeck_jobs_queue_depth{state="due"} 0');
  });
});
