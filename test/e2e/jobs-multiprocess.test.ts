import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { Db } from '../../src/core/db/database.js';
import { jobsMigrations } from '../../src/core/jobs/jobs.migrations.js';
import { createJobs } from '../../src/core/jobs/runner.js';
import { openTestDatabase, type TestDatabase } from '../../src/testing/databases.js';
import type { JobsTestTables, JobsWorkerConfig } from '../fixtures/jobs-worker.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'jobs-worker.ts');
const LEASE_MS = 3000;

interface Worker {
  child: ChildProcess;
  owner: string;
  /** Resolves with the first stdout message matching `test`, or rejects after `ms`. */
  message(test: (m: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
let database: TestDatabase | undefined;

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await database?.destroy();
  database = undefined;
});

function startWorker(config: JobsWorkerConfig): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, OPSDECK_JOBS_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) messages.push(JSON.parse(line) as Record<string, unknown>);
    for (const w of waiters) w();
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    owner: config.owner,
    exited,
    message(test, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(test);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`worker ${config.owner}: no matching message within ${ms} ms; stderr:\n${stderr}`));
        }, ms);
        if (!check()) waiters.add(check);
        void exited.then(() => setImmediate(() => check()));
      });
    },
  };
}

/** Polls `probe` until it returns a value, failing after `ms`; the only wait multi-process tests use. */
async function pollUntil<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function createTestTables(db: Db): Promise<void> {
  await db.schema
    .createTable('jobs_test_results')
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('run_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('jobs_test_ticks')
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
}

async function stopWorker(worker: Worker): Promise<void> {
  worker.child.kill('SIGTERM');
  await worker.message((m) => m.stopped === true, 15_000);
  await worker.exited;
}

describe('jobs across processes', () => {
  it('PostgreSQL: two replicas share 1,000 jobs exactly once; the global task runs on the leader and fails over after kill -9', async () => {
    database = await openTestDatabase('postgres', [{ module: 'core', migrations: jobsMigrations }]);
    await createTestTables(database.db);
    const db = database.db.withTables<JobsTestTables>();
    const base = {
      mode: 'worker',
      url: database.url,
      pgSchema: database.pgSchema,
      leaderLeaseMs: LEASE_MS,
      tickEveryMs: 200,
      handlerDelayMs: 2,
    } as const;
    const workers = [startWorker({ ...base, owner: 'w1' }), startWorker({ ...base, owner: 'w2' })];
    await Promise.all(workers.map((w) => w.message((m) => m.ready === true, 30_000)));

    const scheduler = createJobs({ database, clock: systemClock, logger: pino({ level: 'silent' }), owner: 'scheduler' });
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) ids.add((await scheduler.schedule('record', { i })).id);

    const counts = await pollUntil(
      async () => {
        const row = await db
          .selectFrom('jobs_test_results')
          .select([sql<number>`count(*)`.as('runs'), sql<number>`count(distinct job_id)`.as('jobs')])
          .executeTakeFirstOrThrow();
        return Number(row.runs) >= 1000 ? row : undefined;
      },
      60_000,
      '1,000 job runs',
    );
    expect(await database.db.selectFrom('jobs').select('state').where('state', '!=', 'done').execute()).toEqual([]);
    expect(Number(counts.runs)).toBe(1000);
    expect(Number(counts.jobs)).toBe(1000);
    const results = await db.selectFrom('jobs_test_results').select(['job_id', 'owner']).execute();
    expect(new Set(results.map((r) => r.job_id))).toEqual(ids);
    const perOwner = new Map<string, number>();
    for (const r of results) perOwner.set(r.owner, (perOwner.get(r.owner) ?? 0) + 1);
    expect([...perOwner.keys()].sort()).toEqual(['w1', 'w2']);

    // The global recurring task: several ticks, all from one replica.
    const ticks = await pollUntil(
      async () => {
        const rows = await db.selectFrom('jobs_test_ticks').selectAll().orderBy('at').execute();
        return rows.length >= 5 ? rows : undefined;
      },
      15_000,
      'five ticks of the global task',
    );
    const tickOwners = new Set(ticks.map((t) => t.owner));
    expect(tickOwners.size).toBe(1);
    const leader = workers.find((w) => tickOwners.has(w.owner))!;
    const follower = workers.find((w) => w !== leader)!;

    leader.child.kill('SIGKILL');
    const killedAt = Date.now();
    await leader.exited;
    const takeover = await pollUntil(
      async () =>
        db
          .selectFrom('jobs_test_ticks')
          .selectAll()
          .where('owner', '=', follower.owner)
          .where('at', '>', killedAt)
          .orderBy('at')
          .executeTakeFirst(),
      LEASE_MS + 5000,
      'the follower to take over the global task',
    );
    expect(takeover.at - killedAt).toBeLessThan(LEASE_MS);
    const afterKill = await db.selectFrom('jobs_test_ticks').select('owner').where('at', '>', killedAt).execute();
    expect(new Set(afterKill.map((t) => t.owner))).toEqual(new Set([follower.owner]));

    await stopWorker(follower);
    await scheduler.stop(0);
  });

  it('SQLite: a timer scheduled by a process that then exits runs exactly once, on time, in a new process', async () => {
    database = await openTestDatabase('sqlite', [{ module: 'core', migrations: jobsMigrations }]);
    await createTestTables(database.db);
    const db = database.db.withTables<JobsTestTables>();
    const base = { url: undefined, sqlitePath: database.sqlitePath, pollIntervalMs: 200 };

    const first = startWorker({ ...base, mode: 'schedule', owner: 'first', count: 1, delayMs: 3000 });
    const { scheduled } = (await first.message((m) => Array.isArray(m.scheduled), 30_000)) as {
      scheduled: { id: string; runAt: number }[];
    };
    expect(await first.exited).toBe(0);
    const [job] = scheduled;
    expect(job).toBeDefined();

    const second = startWorker({ ...base, mode: 'worker', owner: 'second' });
    await second.message((m) => m.ready === true, 30_000);
    const run = await pollUntil(
      () => db.selectFrom('jobs_test_results').selectAll().where('job_id', '=', job!.id).executeTakeFirst(),
      20_000,
      'the timer to fire in the new process',
    );
    expect(run.owner).toBe('second');
    expect(run.started_at).toBeGreaterThanOrEqual(job!.runAt);
    // The handler's result commits before the runner marks the job done: wait for that second commit.
    await pollUntil(
      async () =>
        (await database!.db.selectFrom('jobs').select('state').where('id', '=', job!.id).executeTakeFirstOrThrow()).state === 'done'
          ? true
          : undefined,
      10_000,
      'the job to be marked done',
    );
    await stopWorker(second);
    expect(await db.selectFrom('jobs_test_results').selectAll().execute()).toHaveLength(1);
  });
});
