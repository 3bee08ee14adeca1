import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Database, Executor } from '../db/database.js';
import { PgListener } from '../db/pg-listener.js';
import type { Logger } from '../logger.js';
import { Alarm } from './alarm.js';
import { backoffDelayMs } from './backoff.js';
import type { HandlerOptions, JobContext, JobListFilter, JobRecord, Jobs, RecurringTask, ScheduleOptions } from './jobs.js';
import { type ClaimToken, JobsStore } from './jobs.store.js';
import { createLeaderElection, type LeaderElection } from './leader.js';
import { createJobsMetrics, type JobsMetrics } from './metrics.js';
import { RecurringTasks } from './recurring.js';
import { notifyScheduled, wakeChannel } from './wakeups.js';

export interface CreateJobsOptions {
  database: Database;
  clock: Clock;
  logger: Logger;
  /** Identifies this replica in leases; default `<host>:<pid>:<random>`. */
  owner?: string;
  /** Longest sleep between looks at the table (other SQLite processes cannot wake us); default 1000. */
  pollIntervalMs?: number;
  /** Job metrics go here; never the global default registry. */
  metrics?: Registry;
  /** Handlers in flight per process; default 8. */
  concurrency?: number;
  /** Leader lease (SQLite) and retry period ×3 (both engines); default 15 s. */
  leaderLeaseMs?: number;
  /** Default visibility timeout of a claimed job; default 30 s. */
  visibilityTimeoutMs?: number;
  /** [0, 1) source for backoff jitter; tests pin it. */
  random?: () => number;
}

interface Handler {
  run(ctx: JobContext): Promise<void>;
  maxAttempts?: number;
  visibilityMs: number;
}

interface InFlight {
  token: ClaimToken;
  controller: AbortController;
  done: Promise<void>;
  /** The handler has returned or thrown; its slot is free while the outcome is written. */
  settled: boolean;
  /** Set by stop(): the lease went back to pending, so the outcome must not be recorded. */
  released: boolean;
}

const DEFAULT_MAX_ATTEMPTS = 5;
const MAX_ERROR_LENGTH = 2000;

/**
 * The durable job system: jobs live in the `jobs` table, so timers survive restarts and any
 * replica may run them. See jobs.ts for the contract.
 */
export function createJobs(options: CreateJobsOptions): Jobs {
  return new JobRunner(options);
}

class JobRunner implements Jobs {
  private readonly store: JobsStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly owner: string;
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly visibilityMs: number;
  private readonly random: () => number;
  private readonly metrics: JobsMetrics;
  private readonly handlers = new Map<string, Handler>();
  /** Claimed jobs until their outcome is written. */
  private readonly inFlight = new Map<string, InFlight>();
  /** Handlers running now: what `concurrency` bounds. */
  private busy = 0;
  private readonly recurringTasks: RecurringTasks;
  private readonly leader: LeaderElection;
  private listener?: PgListener;
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  private loopDone: Promise<void> = Promise.resolve();
  private stopping?: Promise<void>;
  private readonly alarm: Alarm;

  constructor(private readonly options: CreateJobsOptions) {
    this.store = new JobsStore(options.database);
    this.logger = options.logger.child({ module: 'jobs' });
    this.clock = options.clock;
    this.alarm = new Alarm(options.clock);
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.visibilityMs = options.visibilityTimeoutMs ?? 30_000;
    this.random = options.random ?? Math.random;
    this.metrics = createJobsMetrics(options.metrics, () => this.depth());
    this.recurringTasks = new RecurringTasks({
      clock: this.clock,
      logger: this.logger,
      isLeader: () => this.isLeader(),
      onRun: (id, outcome) => this.metrics.run(`recurring:${id}`, outcome),
    });
    this.leader = createLeaderElection({
      database: options.database,
      clock: this.clock,
      logger: this.logger,
      owner: this.owner,
      leaseMs: options.leaderLeaseMs ?? 15_000,
      onChange: (leader) => this.recurringTasks.setLeader(leader),
    });
  }

  handle(kind: string, run: (ctx: JobContext) => Promise<void>, options: HandlerOptions = {}): void {
    if (this.handlers.has(kind)) throw new Error(`a handler for job kind '${kind}' is already registered`);
    this.handlers.set(kind, { run, maxAttempts: options.maxAttempts, visibilityMs: options.visibilityTimeoutMs ?? this.visibilityMs });
    // Jobs of this kind may already be due.
    this.alarm.wake();
  }

  async schedule(kind: string, payload: unknown, options: ScheduleOptions = {}): Promise<JobRecord> {
    const now = this.clock.now();
    const runAt = Math.round(options.runAt ?? now + (options.delayMs ?? 0));
    if (!Number.isFinite(runAt)) throw new Error(`job '${kind}': runAt must be a finite epoch-ms time`);
    const maxAttempts = options.maxAttempts ?? this.handlers.get(kind)?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`job '${kind}': maxAttempts must be a positive integer`);
    const ex = options.tx ?? this.options.database.db;
    const job = await this.store.insert(ex, { kind, payload, runAt, maxAttempts, dedupKey: options.dedupKey, now });
    // Inside a transaction the NOTIFY is delivered at commit, when the row becomes visible.
    if (this.options.database.dialect === 'postgres') await notifyScheduled(ex, this.options.database, runAt);
    if (options.tx && this.options.database.dialect === 'sqlite') this.hintAfterCommit(runAt, now);
    else this.alarm.wake(runAt);
    return job;
  }

  cancel(dedupKey: string, options: { tx?: Executor } = {}): Promise<number> {
    return this.store.cancel(options.tx ?? this.options.database.db, dedupKey, this.clock.now());
  }

  recurring(task: RecurringTask): void {
    this.recurringTasks.add(task);
  }

  list(filter: JobListFilter = {}): Promise<JobRecord[]> {
    return this.store.list(filter);
  }

  get(id: string): Promise<JobRecord | undefined> {
    return this.store.get(id);
  }

  async retry(id: string): Promise<JobRecord | undefined> {
    const job = await this.store.retry(id, this.clock.now());
    if (job) {
      if (this.options.database.dialect === 'postgres') await notifyScheduled(this.options.database.db, this.options.database, job.runAt);
      this.alarm.wake(job.runAt);
    }
    return job;
  }

  depth(): Promise<{ due: number; pending: number }> {
    return this.store.depth(this.clock.now());
  }

  isLeader(): boolean {
    return this.leader.isLeader();
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`jobs runner cannot start: it is ${this.state}`);
    this.state = 'running';
    const { database } = this.options;
    if (database.dialect === 'postgres' && database.pgConfig) {
      this.listener = new PgListener({
        config: database.pgConfig,
        channel: wakeChannel(database),
        clock: this.clock,
        logger: this.logger,
        retryMs: this.pollIntervalMs,
        onNotify: (payload) => {
          const runAt = Number(payload);
          this.alarm.wake(payload && Number.isFinite(runAt) ? runAt : Number.NEGATIVE_INFINITY);
        },
        onConnected: () => this.alarm.wake(Number.NEGATIVE_INFINITY),
      });
      await this.listener.start();
    }
    // stop() may have been called while we were connecting.
    if (this.state !== 'running') return;
    this.recurringTasks.start();
    await this.leader.start();
    if (this.state !== 'running') return;
    this.loopDone = this.loop();
    this.logger.info({ owner: this.owner, kinds: [...this.handlers.keys()] }, 'job runner started');
  }

  stop(graceMs = 10_000): Promise<void> {
    this.stopping ??= this.shutdown(graceMs);
    return this.stopping;
  }

  async runDue(): Promise<number> {
    await this.leader.settled();
    let total = 0;
    for (;;) {
      const launched = await this.claim(this.concurrency);
      if (launched.length === 0) break;
      total += launched.length;
      await Promise.all(launched.map((e) => e.done));
    }
    await this.recurringTasks.settled();
    return total;
  }

  /** Runs handlers until the process stops: claim what is due, then sleep until the next due time. */
  private async loop(): Promise<void> {
    while (this.state === 'running') {
      try {
        await this.iterate();
      } catch (err) {
        this.logger.error({ err }, 'job runner iteration failed; retrying after the poll interval');
        await this.sleep(this.pollIntervalMs);
      }
    }
  }

  private async iterate(): Promise<void> {
    this.alarm.reset(this.clock.now());
    const free = this.concurrency - this.busy;
    if (free > 0) {
      const launched = await this.claim(free);
      // A full batch suggests more is due: claim again before sleeping.
      if (launched.length > 0 && launched.length === free) return;
    }
    let target = this.clock.now() + this.pollIntervalMs;
    if (this.busy < this.concurrency && this.handlers.size > 0) {
      const next = await this.store.nextWakeAt([...this.handlers.keys()]);
      if (next !== null) target = Math.min(target, next);
    }
    target = this.alarm.target(target);
    const now = this.clock.now();
    if (target > now) await this.sleep(target - now);
  }

  private sleep(ms: number): Promise<void> {
    return this.state === 'running' ? this.alarm.sleep(ms) : Promise.resolve();
  }

  private shuttingDown(): boolean {
    return this.state === 'stopping' || this.state === 'stopped';
  }

  private async claim(limit: number): Promise<InFlight[]> {
    if (this.handlers.size === 0 || this.shuttingDown()) return [];
    const jobs = await this.store.claim({
      kinds: [...this.handlers.keys()],
      owner: this.owner,
      now: this.clock.now(),
      limit,
      visibilityMs: (kind) => this.handlers.get(kind)?.visibilityMs ?? this.visibilityMs,
      defaultVisibilityMs: this.visibilityMs,
    });
    if (this.shuttingDown()) {
      await this.store.release(
        jobs.map((j) => this.tokenOf(j)),
        this.clock.now(),
      );
      return [];
    }
    return jobs.map((job) => this.launch(job));
  }

  private tokenOf(job: JobRecord): ClaimToken {
    return { id: job.id, owner: this.owner, attempts: job.attempts };
  }

  private launch(job: JobRecord): InFlight {
    const key = `${job.id}#${job.attempts}`;
    const now = this.clock.now();
    const controller = new AbortController();
    // Past the lease another replica may take the job over; tell the handler to give up.
    const cancelLeaseTimer =
      job.leaseUntil === null
        ? () => {}
        : this.clock.setTimer(job.leaseUntil - now, () => controller.abort(new Error('job lease expired')));
    const entry: InFlight = { token: this.tokenOf(job), controller, settled: false, released: false, done: Promise.resolve() };
    this.inFlight.set(key, entry);
    this.busy++;
    this.metrics.fireLag((now - job.runAt) / 1000);
    entry.done = this.execute(job, entry).finally(() => {
      cancelLeaseTimer();
      this.settle(entry);
      this.inFlight.delete(key);
    });
    return entry;
  }

  /**
   * Frees the handler's slot as soon as it returns, before its outcome is written, so the next
   * claim overlaps those writes (short handlers would otherwise be claimed one at a time).
   */
  private settle(entry: InFlight): void {
    if (entry.settled) return;
    entry.settled = true;
    this.busy--;
    // A loop sleeping because every slot was busy can claim again.
    if (this.busy === this.concurrency - 1) this.alarm.wake();
  }

  private async execute(job: JobRecord, entry: InFlight): Promise<void> {
    const handler = this.handlers.get(job.kind);
    let failure: unknown;
    let ok = false;
    if (!handler) failure = new Error(`no handler for job kind '${job.kind}'`);
    else if (job.attempts > job.maxAttempts)
      failure = new Error(`lease expired ${job.attempts - 1} times: ${job.lastError ?? 'replica lost'}`);
    else {
      try {
        await handler.run({ job, signal: entry.controller.signal });
        ok = true;
      } catch (err) {
        failure = err;
      }
    }
    this.settle(entry);
    if (entry.released) return;
    const now = this.clock.now();
    try {
      if (ok) {
        const held = await this.store.complete(entry.token, now);
        this.metrics.run(job.kind, held ? 'done' : 'lost');
        if (!held) this.logger.warn({ job: job.id, kind: job.kind }, 'job finished after losing its lease; it may run again');
        return;
      }
      const error = describe(failure);
      const retryAt = job.attempts < job.maxAttempts ? now + backoffDelayMs(job.attempts, this.random) : null;
      const outcome = await this.store.fail(entry.token, error, retryAt, now);
      this.metrics.run(job.kind, outcome);
      const fields = { job: job.id, kind: job.kind, attempts: job.attempts, maxAttempts: job.maxAttempts, error, retryAt };
      if (outcome === 'dead') this.logger.error(fields, 'job failed for the last time; moved to dead letters');
      else this.logger.warn({ ...fields, outcome }, 'job failed');
      if (outcome === 'retry' && retryAt !== null) this.alarm.wake(retryAt);
    } catch (err) {
      this.logger.error({ err, job: job.id }, 'recording the job outcome failed; the lease will expire and the job run again');
    }
  }

  /**
   * SQLite has no commit notification: a job scheduled in a still-open transaction is invisible
   * now (to other connections), so look again shortly after (transactions are short) and at its due time.
   */
  private hintAfterCommit(runAt: number, now: number): void {
    this.alarm.hint(runAt > now + 250 ? [runAt] : [now + 10, now + 50, now + 250, Math.max(runAt, now + 10)]);
    if (runAt > now + 250) return;
    // SQLite has one connection, held by the open transaction: a query queued now runs right after
    // it commits (or rolls back), so the job is looked at without waiting for the first hint.
    sql`select 1`.execute(this.options.database.db).then(
      () => this.alarm.wake(runAt),
      () => {},
    );
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.state = 'stopping';
    // Armed before any await so a fake clock advanced right after stop() fires it.
    let graceOver = () => {};
    const grace = new Promise<void>((resolve) => {
      graceOver = resolve;
    });
    let cancelGrace = () => {};
    if (graceMs > 0) cancelGrace = this.clock.setTimer(graceMs, () => graceOver());
    else graceOver();
    this.recurringTasks.stop();
    this.alarm.wake();
    await this.loopDone;
    const drained = Promise.all([...this.inFlight.values()].map((e) => e.done)).then(() => this.recurringTasks.settled());
    await Promise.race([drained, grace]);
    cancelGrace();
    const unfinished = [...this.inFlight.values()].filter((e) => !e.settled);
    for (const entry of unfinished) {
      entry.released = true;
      entry.controller.abort(new Error('job runner shutting down'));
    }
    this.recurringTasks.abort(new Error('job runner shutting down'));
    try {
      // Back to pending with the attempt uncounted: a deploy is not the job's fault.
      await this.store.release(
        unfinished.map((e) => e.token),
        this.clock.now(),
      );
      if (unfinished.length > 0) this.logger.warn({ released: unfinished.length }, 'released unfinished jobs at shutdown');
    } catch (err) {
      this.logger.error({ err }, 'releasing unfinished jobs failed; their leases will expire');
    }
    // Outcomes of handlers that did finish are being written; let them land.
    await Promise.all([...this.inFlight.values()].filter((e) => !e.released).map((e) => e.done));
    await this.leader.stop();
    await this.listener?.stop();
    this.state = 'stopped';
    this.logger.info({ owner: this.owner }, 'job runner stopped');
  }
}

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}
