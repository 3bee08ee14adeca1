import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../testing/databases.js';
import { DIALECTS } from '../../testing/databases.js';
import { FakeClock } from '../clock.js';
import { openDatabase } from '../db/database.js';
import type { JobContext, JobRecord, Jobs } from './jobs.js';
import { deferred, openJobsDatabase, quietLogger, within } from './jobs.test-support.js';
import { type CreateJobsOptions, createJobs } from './runner.js';

describe.each(DIALECTS)('jobs store and runner on %s', (dialect) => {
  let database: TestDatabase;
  let clock: FakeClock;
  const instances: Jobs[] = [];

  const make = (options: Partial<CreateJobsOptions> = {}): Jobs => {
    const jobs = createJobs({ database, clock, logger: quietLogger(), owner: `owner-${instances.length}`, ...options });
    instances.push(jobs);
    return jobs;
  };

  beforeEach(async () => {
    database = await openJobsDatabase(dialect);
    clock = new FakeClock('2026-03-01T00:00:00Z');
  });

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((j) => j.stop(0)));
    await database.destroy();
  });

  it('runs a timer at its due time and not before', async () => {
    const jobs = make();
    const seen: { at: number; job: JobRecord }[] = [];
    jobs.handle('ping', async ({ job }) => {
      seen.push({ at: clock.now(), job });
    });
    const scheduled = await jobs.schedule('ping', { n: 1 }, { delayMs: 5000 });
    expect(scheduled).toMatchObject({ kind: 'ping', state: 'pending', runAt: clock.now() + 5000, attempts: 0, maxAttempts: 5 });
    expect(scheduled.id).toMatch(/^job_/);

    clock.advance(4999);
    expect(await jobs.runDue()).toBe(0);
    clock.advance(1);
    expect(await jobs.runDue()).toBe(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.at).toBe(scheduled.runAt);
    expect(seen[0]!.job.payload).toEqual({ n: 1 });
    expect(await jobs.get(scheduled.id)).toMatchObject({ state: 'done', attempts: 1, leaseOwner: 'owner-0', leaseUntil: null });
    expect(await jobs.runDue()).toBe(0);
  });

  it('moves the pending job when scheduled again with the same dedupKey', async () => {
    const jobs = make();
    const payloads: unknown[] = [];
    jobs.handle('remind', async ({ job }) => {
      payloads.push(job.payload);
    });
    const first = await jobs.schedule('remind', 'old', { delayMs: 10_000, dedupKey: 'remind:1' });
    const second = await jobs.schedule('remind', 'new', { delayMs: 2000, dedupKey: 'remind:1' });
    expect(second.id).toBe(first.id);
    expect(second.runAt).toBe(clock.now() + 2000);
    expect(await jobs.list({ state: 'pending' })).toHaveLength(1);
    await jobs.schedule('remind', 'other', { delayMs: 2000, dedupKey: 'remind:2' });
    expect(await jobs.list({ state: 'pending' })).toHaveLength(2);

    clock.advance(2000);
    expect(await jobs.runDue()).toBe(2);
    expect(payloads.sort()).toEqual(['new', 'other']);
    clock.advance(10_000);
    expect(await jobs.runDue()).toBe(0);
  });

  it('lets a handler re-arm its own dedup key while it runs', async () => {
    const jobs = make();
    let runs = 0;
    jobs.handle('tick', async ({ job }) => {
      runs++;
      if (runs < 3) await jobs.schedule('tick', null, { dedupKey: job.dedupKey ?? undefined, delayMs: 1000 });
    });
    await jobs.schedule('tick', null, { dedupKey: 'tick' });
    for (let i = 0; i < 3; i++) {
      expect(await jobs.runDue()).toBe(1);
      clock.advance(1000);
    }
    expect(runs).toBe(3);
    expect(await jobs.list({ state: 'done' })).toHaveLength(3);
  });

  it('cancels the pending job with a dedup key', async () => {
    const jobs = make();
    let ran = 0;
    jobs.handle('timeout', async () => {
      ran++;
    });
    const job = await jobs.schedule('timeout', {}, { delayMs: 1000, dedupKey: 'ack:INC-1' });
    expect(await jobs.cancel('ack:INC-1')).toBe(1);
    expect(await jobs.cancel('ack:INC-1')).toBe(0);
    clock.advance(1000);
    expect(await jobs.runDue()).toBe(0);
    expect(ran).toBe(0);
    expect((await jobs.get(job.id))?.state).toBe('cancelled');
    // The key is free again once cancelled.
    const again = await jobs.schedule('timeout', {}, { dedupKey: 'ack:INC-1' });
    expect(again.id).not.toBe(job.id);
  });

  it('retries with exponential backoff, then dead-letters after maxAttempts; retry() revives it', async () => {
    const jobs = make({ random: () => 0.5 });
    let failing = true;
    const attempts: number[] = [];
    jobs.handle('flaky', async ({ job }) => {
      attempts.push(job.attempts);
      if (failing) throw new Error(`boom ${job.attempts}`);
    });
    const job = await jobs.schedule('flaky', {}, { maxAttempts: 3 });

    expect(await jobs.runDue()).toBe(1);
    let record = await jobs.get(job.id);
    // Full jitter with random 0.5: half of base·2^(n-1).
    expect(record).toMatchObject({ state: 'pending', attempts: 1, lastError: 'Error: boom 1', runAt: clock.now() + 500, leaseOwner: null });
    clock.advance(499);
    expect(await jobs.runDue()).toBe(0);
    clock.advance(1);
    expect(await jobs.runDue()).toBe(1);
    record = await jobs.get(job.id);
    expect(record).toMatchObject({ state: 'pending', attempts: 2, runAt: clock.now() + 1000 });
    clock.advance(1000);
    expect(await jobs.runDue()).toBe(1);
    expect(attempts).toEqual([1, 2, 3]);

    const dead = await jobs.list({ state: 'dead' });
    expect(dead.map((j) => j.id)).toEqual([job.id]);
    expect(dead[0]).toMatchObject({ attempts: 3, lastError: 'Error: boom 3' });
    clock.advance(60 * 60_000);
    expect(await jobs.runDue()).toBe(0);

    expect(await jobs.retry('job_nope')).toBeUndefined();
    failing = false;
    const revived = await jobs.retry(job.id);
    expect(revived).toMatchObject({ state: 'pending', attempts: 0, runAt: clock.now() });
    expect(await jobs.retry(job.id)).toBeUndefined();
    expect(await jobs.runDue()).toBe(1);
    expect(await jobs.get(job.id)).toMatchObject({ state: 'done', attempts: 1 });
  });

  it('takes maxAttempts from the handler unless the schedule says otherwise', async () => {
    const jobs = make();
    jobs.handle('once', async () => {}, { maxAttempts: 1 });
    expect((await jobs.schedule('once', {})).maxAttempts).toBe(1);
    expect((await jobs.schedule('once', {}, { maxAttempts: 7 })).maxAttempts).toBe(7);
    expect((await jobs.schedule('unhandled', {})).maxAttempts).toBe(5);
    await expect(jobs.schedule('once', {}, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
  });

  it('never runs a job scheduled in a transaction that rolled back', async () => {
    const jobs = make();
    let ran = 0;
    jobs.handle('after-commit', async () => {
      ran++;
    });
    await expect(
      database.db.transaction().execute(async (tx) => {
        await jobs.schedule('after-commit', { n: 1 }, { tx });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await jobs.runDue()).toBe(0);
    expect(await jobs.list()).toHaveLength(0);

    await database.db.transaction().execute((tx) => jobs.schedule('after-commit', { n: 2 }, { tx }));
    expect(await jobs.runDue()).toBe(1);
    expect(ran).toBe(1);
  });

  it('lets another replica reclaim a job whose lease expired, and ignores the late finish of the first', async () => {
    const a = make({ owner: 'replica-a', visibilityTimeoutMs: 1000 });
    const b = make({ owner: 'replica-b', visibilityTimeoutMs: 1000 });
    const started = deferred<JobContext>();
    const release = deferred();
    a.handle('slow', async (ctx) => {
      started.resolve(ctx);
      await release.promise;
    });
    const seenByB: JobRecord[] = [];
    b.handle('slow', async ({ job }) => {
      seenByB.push(job);
    });
    const job = await a.schedule('slow', {});
    const aRun = a.runDue();
    const ctxA = await within(started.promise, 5000, 'replica A to start the job');
    expect(await b.runDue()).toBe(0);

    clock.advance(1000);
    expect(ctxA.signal.aborted).toBe(true);
    expect(await b.runDue()).toBe(1);
    expect(seenByB[0]).toMatchObject({ id: job.id, attempts: 2, leaseOwner: 'replica-b' });

    release.resolve();
    expect(await aRun).toBe(1);
    expect(await a.get(job.id)).toMatchObject({ state: 'done', attempts: 2, leaseOwner: 'replica-b' });
  });

  it('dead-letters a job whose replicas kept dying once its attempts are used up', async () => {
    const a = make({ owner: 'replica-a', visibilityTimeoutMs: 1000 });
    const b = make({ owner: 'replica-b', visibilityTimeoutMs: 1000 });
    const started = deferred();
    const hang = deferred();
    a.handle('crashy', async () => {
      started.resolve();
      await hang.promise;
    });
    let ranOnB = 0;
    b.handle('crashy', async () => {
      ranOnB++;
    });
    const job = await a.schedule('crashy', {}, { maxAttempts: 1 });
    const aRun = a.runDue();
    await within(started.promise, 5000, 'the claim');
    clock.advance(1000);
    expect(await b.runDue()).toBe(1);
    expect(ranOnB).toBe(0);
    expect(await b.get(job.id)).toMatchObject({ state: 'dead', attempts: 2 });
    hang.resolve();
    await aRun;
  });

  it('stop() hands unfinished jobs back without counting the attempt', async () => {
    const a = make({ owner: 'replica-a' });
    const b = make({ owner: 'replica-b' });
    const started = deferred();
    a.handle('long', async ({ signal }) => {
      started.resolve();
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    });
    let ranOnB = 0;
    b.handle('long', async () => {
      ranOnB++;
    });
    const job = await a.schedule('long', {});
    const aRun = a.runDue();
    await within(started.promise, 5000, 'the job to start');
    const stopping = a.stop(2000);
    clock.advance(2000);
    await within(stopping, 5000, 'stop()');
    await aRun;
    expect(await a.get(job.id)).toMatchObject({ state: 'pending', attempts: 0, leaseOwner: null, leaseUntil: null, lastError: null });
    await a.stop(); // idempotent
    expect(await b.runDue()).toBe(1);
    expect(ranOnB).toBe(1);
  });

  it('stop() waits for handlers that finish within the grace period', async () => {
    const jobs = make();
    const started = deferred();
    const finish = deferred();
    jobs.handle('short', async () => {
      started.resolve();
      await finish.promise;
    });
    const job = await jobs.schedule('short', {});
    const run = jobs.runDue();
    await within(started.promise, 5000, 'the job to start');
    const stopping = jobs.stop(5000);
    finish.resolve();
    await within(stopping, 5000, 'stop()');
    await run;
    expect((await jobs.get(job.id))?.state).toBe('done');
  });

  it('reports depth and lists by state and kind', async () => {
    const jobs = make();
    await jobs.schedule('a', {});
    await jobs.schedule('a', {}, { delayMs: -10 });
    await jobs.schedule('b', {}, { delayMs: 60_000 });
    expect(await jobs.depth()).toEqual({ due: 2, pending: 3 });
    expect(await jobs.list({ kind: 'a' })).toHaveLength(2);
    expect(await jobs.list({ kind: 'b', state: 'pending' })).toHaveLength(1);
    expect(await jobs.list({ limit: 1 })).toHaveLength(1);
    expect(await jobs.list({ state: 'dead' })).toHaveLength(0);
  });

  it('keeps a future timer across a restart of the process', async () => {
    const before = make({ owner: 'before' });
    const job = await before.schedule('wake-up', { why: 'restart' }, { delayMs: 60_000 });
    await before.stop();
    await database.close();

    const reopened = await openDatabase(
      dialect === 'sqlite' ? { dataDir: database.dataDir } : { url: database.url, pgSchema: database.pgSchema },
    );
    try {
      const after = createJobs({ database: reopened, clock, logger: quietLogger(), owner: 'after' });
      const ran: string[] = [];
      after.handle('wake-up', async ({ job }) => {
        ran.push(job.id);
      });
      clock.advance(59_999);
      expect(await after.runDue()).toBe(0);
      clock.advance(1);
      expect(await after.runDue()).toBe(1);
      expect(await after.runDue()).toBe(0);
      expect(ran).toEqual([job.id]);
      await after.stop();
    } finally {
      await reopened.close();
    }
  });
});
