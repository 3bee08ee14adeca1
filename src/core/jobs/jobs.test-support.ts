import { pino } from 'pino';
import { openTestDatabase, type TestDatabase } from '../../testing/databases.js';
import { FakeClock } from '../clock.js';
import type { DialectName } from '../db/database.js';
import type { Logger } from '../logger.js';
import { jobsMigrations } from './jobs.migrations.js';

/** Shared by the job tests: a store with the job tables, quiet logs, and a clock whose timers can be awaited. */
export function openJobsDatabase(dialect: DialectName): Promise<TestDatabase> {
  return openTestDatabase(dialect, [{ module: 'core', migrations: jobsMigrations }]);
}

export function quietLogger(): Logger {
  return pino({ level: process.env.OPSDECK_TEST_LOG_LEVEL ?? 'silent' });
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Fails instead of hanging when something that should happen promptly does not. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A FakeClock that lets a test wait until the code under test has armed a timer for a given time. */
export class ObservedClock extends FakeClock {
  private armed: number[] = [];
  private waiters: { at: number; done: () => void }[] = [];

  override setTimer(ms: number, fn: () => void): () => void {
    const at = this.now() + Math.max(0, ms);
    this.armed.push(at);
    for (const w of this.waiters.filter((w) => w.at === at)) w.done();
    this.waiters = this.waiters.filter((w) => w.at !== at);
    return super.setTimer(ms, fn);
  }

  /** Resolves once a timer due at `at` has been set (now or earlier). */
  timerAt(at: number): Promise<void> {
    if (this.armed.includes(at)) return Promise.resolve();
    return new Promise((done) => this.waiters.push({ at, done }));
  }
}
