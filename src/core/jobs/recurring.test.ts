import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../testing/databases.js';
import { DIALECTS } from '../../testing/databases.js';
import { FakeClock } from '../clock.js';
import type { Jobs } from './jobs.js';
import { deferred, openJobsDatabase, quietLogger } from './jobs.test-support.js';
import { type CreateJobsOptions, createJobs } from './runner.js';

const LEASE_MS = 3000;

describe.each(DIALECTS)('recurring tasks on %s', (dialect) => {
  let database: TestDatabase;
  let clock: FakeClock;
  const instances: Jobs[] = [];

  const make = (options: Partial<CreateJobsOptions> = {}): Jobs => {
    const jobs = createJobs({
      database,
      clock,
      logger: quietLogger(),
      pollIntervalMs: 600_000,
      leaderLeaseMs: LEASE_MS,
      owner: `r-${instances.length}`,
      ...options,
    });
    instances.push(jobs);
    return jobs;
  };

  /** Moves time in steps, letting each step's runs (and election rounds) finish. */
  const tick = async (jobs: Jobs[], ms: number, step: number) => {
    for (let moved = 0; moved < ms; moved += step) {
      clock.advance(Math.min(step, ms - moved));
      for (const j of jobs) await j.runDue();
    }
  };

  beforeEach(async () => {
    database = await openJobsDatabase(dialect);
    clock = new FakeClock('2026-03-01T00:00:00Z');
  });

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((j) => j.stop(0)));
    await database.destroy();
  });

  it('runs an `every` task on schedule once started, never before', async () => {
    const jobs = make();
    const runs: number[] = [];
    const t0 = clock.now();
    jobs.recurring({ id: 'sweep', scope: 'local', schedule: { every: 1000 }, run: async ({ scheduledAt }) => void runs.push(scheduledAt) });
    clock.advance(5000);
    expect(runs).toEqual([]);

    await jobs.start();
    const started = clock.now();
    await tick([jobs], 999, 999);
    expect(runs).toEqual([]);
    await tick([jobs], 3001, 1);
    expect(runs).toEqual([started + 1000, started + 2000, started + 3000, started + 4000]);
    expect(runs[0]! - t0).toBe(6000);
  });

  it('runs a cron task at the cron times in its time zone', async () => {
    const jobs = make();
    const utc: number[] = [];
    const newYork: number[] = [];
    jobs.recurring({ id: 'five-min', scope: 'local', schedule: { cron: '*/5 * * * *' }, run: async (c) => void utc.push(c.scheduledAt) });
    jobs.recurring({
      id: 'morning',
      scope: 'local',
      schedule: { cron: '0 9 * * *', timeZone: 'America/New_York' },
      run: async (c) => void newYork.push(c.scheduledAt),
    });
    await jobs.start();
    await tick([jobs], 5 * 60_000 - 1, 60_000);
    expect(utc).toEqual([]);
    await tick([jobs], 1, 1);
    expect(utc.map((t) => new Date(t).toISOString())).toEqual(['2026-03-01T00:05:00.000Z']);
    await tick([jobs], 24 * 60 * 60_000, 5 * 60_000);
    expect(utc).toHaveLength(1 + 24 * 12);
    // 09:00 EST is 14:00 UTC (daylight saving starts on 8 March 2026).
    expect(newYork.map((t) => new Date(t).toISOString())).toEqual(['2026-03-01T14:00:00.000Z']);
  });

  it('rejects a bad cron pattern and duplicate ids at registration', () => {
    const jobs = make();
    expect(() => jobs.recurring({ id: 'bad', scope: 'local', schedule: { cron: 'every day' }, run: async () => {} })).toThrow();
    expect(() => jobs.recurring({ id: 'zero', scope: 'local', schedule: { every: 0 }, run: async () => {} })).toThrow(/positive/);
    jobs.recurring({ id: 'dup', scope: 'local', schedule: { every: 10 }, run: async () => {} });
    expect(() => jobs.recurring({ id: 'dup', scope: 'local', schedule: { every: 10 }, run: async () => {} })).toThrow(/already/);
  });

  it('skips a tick while the previous run of the same task is still going', async () => {
    const jobs = make();
    let started = 0;
    const release = deferred();
    jobs.recurring({
      id: 'slow',
      scope: 'local',
      schedule: { every: 1000 },
      run: async () => {
        started++;
        await release.promise;
      },
    });
    await jobs.start();
    clock.advance(1000);
    clock.advance(1000);
    clock.advance(1000);
    expect(started).toBe(1);
    release.resolve();
    await jobs.runDue();
    clock.advance(1000);
    expect(started).toBe(2);
  });

  it('runs a global task only on the leader, and on the new leader after a handover', async () => {
    const a = make({ owner: 'replica-a' });
    const b = make({ owner: 'replica-b' });
    const runs: string[] = [];
    const local: string[] = [];
    for (const [jobs, owner] of [
      [a, 'replica-a'],
      [b, 'replica-b'],
    ] as const) {
      jobs.recurring({ id: 'report', scope: 'global', schedule: { every: 1000 }, run: async () => void runs.push(owner) });
      jobs.recurring({ id: 'cache', scope: 'local', schedule: { every: 1000 }, run: async () => void local.push(owner) });
    }
    await a.start();
    await b.start();
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);

    await tick([a, b], 3000, 500);
    expect(runs).toEqual(['replica-a', 'replica-a', 'replica-a']);
    expect(local.filter((o) => o === 'replica-b')).toHaveLength(3);

    await a.stop();
    runs.length = 0;
    await tick([b], LEASE_MS / 3, LEASE_MS / 3);
    expect(b.isLeader()).toBe(true);
    await tick([b], 3000, 500);
    expect(runs).toEqual(['replica-b', 'replica-b', 'replica-b']);
  });
});
