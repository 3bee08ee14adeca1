/**
 * Job system benchmark, on SQLite and PostgreSQL with the real clock:
 *  - fire lag: 10,000 timers due over ~10 s, one runner; lag = handler start − run_at (target p99 ≤ 100 ms);
 *  - drain: 10,000 jobs due now; time until all are done, one runner at default concurrency.
 *
 *   node --import tsx bench/jobs.ts      (or: npm run bench -- jobs)
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { systemClock } from '../src/core/clock.js';
import type { DialectName } from '../src/core/db/database.js';
import { jobsMigrations } from '../src/core/jobs/jobs.migrations.js';
import { createJobs } from '../src/core/jobs/runner.js';
import { openTestDatabase, type TestDatabase } from '../src/testing/databases.js';

export interface BenchResult {
  name: string;
  rows: Array<Record<string, string | number>>;
  notes?: string[];
}

const TIMERS = 10_000;
const SPREAD_MS = 10_000;
/** Timers start this far out so that scheduling all of them finishes before the first is due. */
const LEAD_MS = 5_000;
const SCHEDULERS = 8;
/** OPSDECK_BENCH_STORES=postgres runs one store only. */
const DIALECTS_TO_RUN = (process.env.OPSDECK_BENCH_STORES ?? 'sqlite,postgres').split(',') as DialectName[];

const logger = pino({ level: process.env.OPSDECK_BENCH_LOG_LEVEL ?? 'warn' });
/** Sub-millisecond wall-clock time, comparable with run_at. */
const nowMs = () => performance.timeOrigin + performance.now();

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function open(dialect: DialectName): Promise<TestDatabase> {
  return openTestDatabase(dialect, [{ module: 'core', migrations: jobsMigrations }]);
}

/** Runs `count` calls of `fn` with at most `parallel` in flight (PostgreSQL uses its pool; SQLite serialises anyway). */
async function inParallel(count: number, parallel: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

async function fireLag(dialect: DialectName): Promise<Record<string, string | number>> {
  const database = await open(dialect);
  const jobs = createJobs({ database, clock: systemClock, logger, owner: `bench-${dialect}` });
  try {
    const lags: number[] = [];
    let allFired = () => {};
    const fired = new Promise<void>((resolve) => {
      allFired = resolve;
    });
    jobs.handle('timer', async ({ job }) => {
      lags.push(nowMs() - job.runAt);
      if (lags.length === TIMERS) allFired();
    });
    await jobs.start();
    const first = Date.now() + LEAD_MS;
    const scheduleStart = nowMs();
    // Random order, as timers arrive in production: the runner keeps being woken for sooner ones.
    await inParallel(TIMERS, SCHEDULERS, (i) => jobs.schedule('timer', { i }, { runAt: first + Math.floor(Math.random() * SPREAD_MS) }));
    const scheduleMs = nowMs() - scheduleStart;
    if (Date.now() > first) logger.warn({ scheduleMs }, 'scheduling overran the lead time: early timers fired late');
    await fired;
    const sorted = [...lags].sort((a, b) => a - b);
    return {
      store: dialect,
      case: `fire lag: ${TIMERS} timers over ${SPREAD_MS / 1000} s`,
      p50_ms: round(percentile(sorted, 50)),
      p99_ms: round(percentile(sorted, 99)),
      max_ms: round(sorted.at(-1) ?? Number.NaN),
      schedule_per_s: round(TIMERS / (scheduleMs / 1000), 0),
    };
  } finally {
    await jobs.stop(10_000);
    await database.destroy();
  }
}

async function drain(dialect: DialectName): Promise<Record<string, string | number>> {
  const database = await open(dialect);
  const jobs = createJobs({ database, clock: systemClock, logger, owner: `bench-${dialect}` });
  try {
    // Insert in transactions of 500 so setup is quick; what is measured is the runner.
    const now = Date.now();
    for (let start = 0; start < TIMERS; start += 500) {
      await database.db.transaction().execute(async (tx) => {
        for (let i = start; i < Math.min(TIMERS, start + 500); i++) await jobs.schedule('work', { i }, { runAt: now, tx });
      });
    }
    let ran = 0;
    let allRan = () => {};
    const finished = new Promise<void>((resolve) => {
      allRan = resolve;
    });
    jobs.handle('work', async () => {
      if (++ran === TIMERS) allRan();
    });
    const begin = nowMs();
    await jobs.start();
    await finished;
    // stop() waits for the last handlers' outcomes to be recorded: then every job is done.
    await jobs.stop(30_000);
    const seconds = (nowMs() - begin) / 1000;
    const left = await jobs.depth();
    if (left.pending > 0) throw new Error(`${left.pending} jobs still pending after the drain`);
    return {
      store: dialect,
      case: `drain: ${TIMERS} jobs due now`,
      jobs_per_s: round(TIMERS / seconds, 0),
      seconds: round(seconds, 2),
    };
  } finally {
    await jobs.stop(0);
    await database.destroy();
  }
}

/** The benchmark as `npm run bench -- jobs` runs it. */
export async function run(): Promise<BenchResult> {
  const loadBefore = loadavg().map((l) => round(l, 2));
  const rows: Array<Record<string, string | number>> = [];
  // The system clock unrefs its timers and SQLite holds no socket: keep the process alive while the runner sleeps.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    for (const dialect of DIALECTS_TO_RUN) {
      rows.push(await fireLag(dialect));
      rows.push(await drain(dialect));
    }
  } finally {
    clearInterval(keepAlive);
  }
  return {
    name: 'jobs',
    rows,
    notes: [
      `machine: ${cpus().length} cores; load average before ${loadBefore.join(' ')}, after ${loadavg()
        .map((l) => round(l, 2))
        .join(' ')}`,
      'one runner, concurrency 8, default poll interval 1 s; handlers do no work; PostgreSQL on this machine.',
      `fire lag = handler start − run_at; timers scheduled from ${SCHEDULERS} concurrent callers while the runner runs. Target: p99 <= 100 ms.`,
    ],
  };
}

function print(result: BenchResult): void {
  const headers = [...new Set(result.rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === undefined ? '' : String(v));
  const widths = headers.map((h) => Math.max(h.length, ...result.rows.map((r) => cell(r[h]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  console.log(`\n== ${result.name}`);
  console.log(line(headers));
  for (const r of result.rows) console.log(line(headers.map((h) => cell(r[h]))));
  for (const n of result.notes ?? []) console.log(`  ${n}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(
    `cpus: ${cpus().length}, loadavg: ${loadavg()
      .map((l) => round(l, 2))
      .join(' ')}`,
  );
  print(await run());
  process.exit(0);
}
