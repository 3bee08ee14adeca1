import type { Actor } from '../../../core/auth/roles.js';
import type { Executor } from '../../../core/db/database.js';
import { deadlineKey, JOB_DEADLINE, JOB_STEP, type RolloutsContext, stepKey, timerKey } from './context.js';
import { appendLog, claimRevision, patchRollout, type Rollout, type RolloutPatch, type RolloutState } from './rollouts.store.js';

interface PendingLog {
  type: string;
  message: string;
  data: Record<string, unknown>;
  step: number | null;
}

/**
 * One transition of a rollout, written in one transaction: the row (compare-and-set on its
 * revision), decision-log entries, `delivery.rollout.*` events on the change timeline, audit
 * records and the durable timers that drive what comes next.
 */
export class RolloutWriter {
  /** The state after this transition; edit it in place. */
  readonly state: RolloutState;
  private patch: RolloutPatch = {};
  private readonly logs: PendingLog[] = [];
  private readonly events: { verb: string; data: Record<string, unknown> }[] = [];
  private readonly audits: { action: string; change: Record<string, unknown> }[] = [];
  private readonly jobs: (() => Promise<unknown>)[] = [];

  constructor(
    readonly ctx: RolloutsContext,
    readonly tx: Executor,
    readonly rollout: Rollout,
    readonly now: number,
    readonly actor: Actor,
  ) {
    this.state = structuredClone(rollout.state);
  }

  set(patch: RolloutPatch): this {
    this.patch = { ...this.patch, ...patch };
    return this;
  }

  /** The step index after this transition. */
  get step(): number {
    return this.patch.step ?? this.rollout.step;
  }

  log(type: string, message: string, data: Record<string, unknown> = {}): this {
    this.logs.push({ type, message, data, step: this.step });
    return this;
  }

  /** Publishes `delivery.rollout.<verb>` (change timeline, with the service). */
  publish(verb: string, data: Record<string, unknown> = {}): this {
    this.events.push({ verb, data });
    return this;
  }

  audit(action: string, change: Record<string, unknown>): this {
    this.audits.push({ action, change });
    return this;
  }

  /** Runs the engine again right after commit. */
  kick(): this {
    const { id } = this.rollout;
    this.jobs.push(() => this.ctx.core.jobs.schedule(JOB_STEP, { rolloutId: id }, { tx: this.tx, dedupKey: stepKey(id), runAt: this.now }));
    return this;
  }

  /** Runs the engine at `at` (moves an earlier-set wake-up). */
  timer(at: number): this {
    const { id } = this.rollout;
    this.jobs.push(() => this.ctx.core.jobs.schedule(JOB_STEP, { rolloutId: id }, { tx: this.tx, dedupKey: timerKey(id), runAt: at }));
    return this;
  }

  cancelTimer(): this {
    const { id } = this.rollout;
    this.jobs.push(() => this.ctx.core.jobs.cancel(timerKey(id), { tx: this.tx }));
    return this;
  }

  /** Arms (at) or disarms (null) the progress deadline. */
  deadline(at: number | null): this {
    const { id } = this.rollout;
    this.set({ progressDeadlineAt: at });
    this.jobs.push(() =>
      at === null
        ? this.ctx.core.jobs.cancel(deadlineKey(id), { tx: this.tx })
        : this.ctx.core.jobs.schedule(JOB_DEADLINE, { rolloutId: id, at }, { tx: this.tx, dedupKey: deadlineKey(id), runAt: at }),
    );
    return this;
  }

  /** The rollout as this transition leaves it. */
  result(): Rollout {
    const p = this.patch;
    return {
      ...this.rollout,
      ...(p.phase !== undefined ? { phase: p.phase } : {}),
      ...(p.step !== undefined ? { step: p.step } : {}),
      ...(p.reason !== undefined ? { reason: p.reason } : {}),
      ...(p.pauseReason !== undefined ? { pauseReason: p.pauseReason } : {}),
      ...(p.active !== undefined ? { active: p.active } : {}),
      ...(p.progressDeadlineAt !== undefined ? { progressDeadlineAt: p.progressDeadlineAt } : {}),
      ...(p.settled !== undefined ? { settled: p.settled } : {}),
      ...(p.finishedAt !== undefined ? { finishedAt: p.finishedAt } : {}),
      state: this.state,
      revision: this.rollout.revision + 1,
      updatedAt: this.now,
    };
  }

  async flush(): Promise<Rollout> {
    const { ctx, tx, rollout: r, now, actor } = this;
    const next = this.result();
    await patchRollout(tx, r, { ...this.patch, state: this.state });
    for (const l of this.logs) await appendLog(tx, { rolloutId: r.id, at: now, actor: actor.name, ...l });
    const base = {
      rolloutId: r.id,
      service: r.service,
      version: r.version,
      stable: r.stable,
      strategy: r.strategy,
      phase: next.phase,
      step: next.step,
      steps: r.plan.steps.length,
      // DORA reads an undo's success as the rollback of the rollout it names.
      ...(r.rollbackOf ? { undo: true, undoOf: r.rollbackOf } : {}),
    };
    for (const e of this.events) {
      await ctx.core.events.publish(tx, {
        type: `delivery.rollout.${e.verb}`,
        actor: actor.name,
        service: r.service,
        subject: `rollout/${r.id}`,
        change: true,
        data: { ...base, ...e.data },
      });
      ctx.metrics.transitions.inc({ type: e.verb });
    }
    for (const a of this.audits) {
      await ctx.core.audit.record(tx, {
        actor,
        action: a.action,
        target: `rollout/${r.id}`,
        change: { service: r.service, version: r.version, ...a.change },
      });
    }
    for (const job of this.jobs) await job();
    return next;
  }
}

/**
 * Runs `fn` as one transition of `r` (in `tx` when given, e.g. a subscriber's). Returns the
 * rollout after it, or undefined when another writer changed the rollout since it was read:
 * the caller reloads and decides again.
 */
export async function transition(
  ctx: RolloutsContext,
  r: Rollout,
  actor: Actor,
  fn: (w: RolloutWriter) => Promise<void> | void,
  options: { tx?: Executor } = {},
): Promise<Rollout | undefined> {
  const body = async (tx: Executor) => {
    const now = ctx.core.clock.now();
    if (!(await claimRevision(tx, r.id, r.revision, now))) return undefined;
    const w = new RolloutWriter(ctx, tx, r, now, actor);
    await fn(w);
    return w.flush();
  };
  return options.tx ? body(options.tx) : ctx.core.db.transaction().execute(body);
}
