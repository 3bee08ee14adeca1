import { Cron } from 'croner';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { RecurringTask } from './jobs.js';

interface Entry {
  task: RecurringTask;
  /** Croner only computes times here; the clock owns every timer. */
  cron?: Cron;
  cancel?: () => void;
  running?: Promise<void>;
  controller?: AbortController;
}

export interface RecurringOptions {
  clock: Clock;
  logger: Logger;
  /** Checked at each tick of a global task: leadership can lapse between election rounds. */
  isLeader(): boolean;
  onRun(id: string, outcome: 'ok' | 'failed' | 'skipped'): void;
}

/** In-process recurring tasks: local ones on every started worker, global ones only on the leader. */
export class RecurringTasks {
  private readonly entries = new Map<string, Entry>();
  private active = false;
  private leader = false;

  constructor(private readonly options: RecurringOptions) {}

  add(task: RecurringTask): void {
    if (this.entries.has(task.id)) throw new Error(`recurring task '${task.id}' is already registered`);
    const entry: Entry = { task };
    if ('every' in task.schedule) {
      if (!(task.schedule.every > 0)) throw new Error(`recurring task '${task.id}': every must be a positive number of ms`);
    } else {
      // Parsing here makes a bad pattern fail at registration, not at the first tick.
      entry.cron = new Cron(task.schedule.cron, { timezone: task.schedule.timeZone ?? 'UTC', paused: true });
    }
    this.entries.set(task.id, entry);
    if (this.eligible(entry)) this.arm(entry, this.options.clock.now());
  }

  start(): void {
    this.active = true;
    for (const entry of this.entries.values()) if (this.eligible(entry) && !entry.cancel) this.arm(entry, this.options.clock.now());
  }

  /** Arms global tasks on promotion; disarms (and aborts) them on demotion. */
  setLeader(leader: boolean): void {
    this.leader = leader;
    for (const entry of this.entries.values()) {
      if (entry.task.scope !== 'global') continue;
      if (leader && this.eligible(entry) && !entry.cancel) this.arm(entry, this.options.clock.now());
      if (!leader) {
        this.disarm(entry);
        entry.controller?.abort(new Error('leadership lost'));
      }
    }
  }

  /** Stops arming new runs; in-flight runs keep going until `abort()`. */
  stop(): void {
    this.active = false;
    for (const entry of this.entries.values()) this.disarm(entry);
  }

  abort(reason: Error): void {
    for (const entry of this.entries.values()) entry.controller?.abort(reason);
  }

  /** Resolves when the runs in flight right now have finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.running));
  }

  /** The next tick strictly after `from`, or null when a cron has no future run. */
  nextTime(entry: Entry, from: number): number | null {
    const schedule = entry.task.schedule;
    if ('every' in schedule) return from + schedule.every;
    const next = entry.cron?.nextRun(new Date(from));
    return next ? next.getTime() : null;
  }

  private eligible(entry: Entry): boolean {
    return this.active && (entry.task.scope === 'local' || this.leader);
  }

  private arm(entry: Entry, from: number): void {
    this.disarm(entry);
    const now = this.options.clock.now();
    let next = this.nextTime(entry, from);
    // After a stall, skip the missed ticks rather than firing them back to back.
    while (next !== null && next <= now) next = this.nextTime(entry, next);
    if (next === null) return;
    const at = next;
    entry.cancel = this.options.clock.setTimer(at - now, () => this.fire(entry, at));
  }

  private disarm(entry: Entry): void {
    entry.cancel?.();
    entry.cancel = undefined;
  }

  private fire(entry: Entry, scheduledAt: number): void {
    entry.cancel = undefined;
    if (!this.eligible(entry)) return;
    this.arm(entry, scheduledAt);
    const { task } = entry;
    if (task.scope === 'global' && !this.options.isLeader()) return;
    if (entry.running) {
      this.options.logger.warn({ task: task.id }, 'recurring task still running; tick skipped');
      this.options.onRun(task.id, 'skipped');
      return;
    }
    const controller = new AbortController();
    entry.controller = controller;
    entry.running = (async () => {
      try {
        await task.run({ signal: controller.signal, scheduledAt });
        this.options.onRun(task.id, 'ok');
      } catch (err) {
        this.options.logger.error({ err, task: task.id }, 'recurring task failed');
        this.options.onRun(task.id, 'failed');
      } finally {
        entry.running = undefined;
        if (entry.controller === controller) entry.controller = undefined;
      }
    })();
  }
}
