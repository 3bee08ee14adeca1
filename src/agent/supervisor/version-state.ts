import { existsSync } from 'node:fs';
import { canonicalJson, sha256Hex } from '../../core/canonical-json.js';
import type { Endpoint } from '../contracts.js';
import type { DesiredService, DesiredVersion, ProcessSpec, VersionStatus } from '../protocol.js';
import { Instance, type InstanceHost } from './instance.js';
import type { PidRecord } from './pid-files.js';
import type { ExitInfo } from './process-handle.js';
import { CrashLoopDetector, countsTowardCrashLoop, type ExitFacts, isQuickExit } from './restart-policy.js';

export function specHash(spec: ProcessSpec): string {
  return sha256Hex(canonicalJson({ command: spec.command, args: spec.args, cwd: spec.cwd, env: spec.env }));
}

/** Shared by every version: the supervisor's services minus per-version decisions. */
export type VersionContext = Omit<
  InstanceHost,
  'healthCheck' | 'shutdown' | 'startTimeoutMs' | 'drain' | 'changed' | 'shouldRestart' | 'becameReady' | 'becameStable'
> & {
  nextSeq(): number;
  /** Explicit start deadline; by default max(30 s, 10 × health interval). */
  startTimeoutMs?: number;
  drain(service: string, instanceId: string, graceMs: number): Promise<void>;
  /** Something about this version changed (readiness, instances, health). */
  changed(version: VersionState): void;
  /** True once the supervisor stopped or detached: converge no further. */
  closed(): boolean;
};

/**
 * One version of a service: its desired count and process spec, its instances, and the
 * decisions that span instances — rolling replacement, crash-loop detection, giving up.
 */
export class VersionState {
  readonly instances = new Map<string, Instance>();
  desired: DesiredVersion | null = null;
  hash = '';
  private failure: string | null = null;
  private lastFailure: string | null = null;
  private quickExits = 0;
  private readonly crashLoop: CrashLoopDetector;
  private reconciling = false;
  private again = false;
  private readonly host: InstanceHost;

  constructor(
    readonly service: string,
    readonly version: string,
    private readonly serviceSpec: () => DesiredService,
    private readonly ctx: VersionContext,
  ) {
    this.crashLoop = new CrashLoopDetector(ctx.clock, ctx.policy);
    this.host = {
      ...ctx,
      healthCheck: () => this.serviceSpec().healthCheck,
      shutdown: () => this.serviceSpec().shutdown,
      startTimeoutMs: () => ctx.startTimeoutMs ?? Math.max(30_000, 10 * this.serviceSpec().healthCheck.intervalMs),
      drain: (instanceId, graceMs) => ctx.drain(service, instanceId, graceMs),
      changed: () => {
        this.ctx.changed(this);
        this.reconcile();
      },
      shouldRestart: (instance, facts, exit) => this.shouldRestart(instance, facts, exit),
      becameReady: (instance) => {
        if (instance.specHash === this.hash) this.quickExits = 0;
      },
      becameStable: () => {
        this.crashLoop.clear();
        this.ctx.changed(this);
      },
    };
  }

  /** A new desired spec (null: the version was removed). A changed process spec clears past failures. */
  setDesired(desired: DesiredVersion | null): void {
    if (desired) {
      const hash = specHash(desired.process);
      if (hash !== this.hash) {
        this.hash = hash;
        this.failure = null;
        this.lastFailure = null;
        this.quickExits = 0;
        this.crashLoop.clear();
      }
    }
    this.desired = desired;
  }

  /** Removed from the desired state and every instance stopped. */
  isGone(): boolean {
    return this.desired === null && this.instances.size === 0;
  }

  /**
   * Takes over a live process of this version from a pid file. One of an older spec keeps serving
   * until the rolling replacement reaches it, so an agent restart during a spec change drops nothing.
   */
  adopt(record: PidRecord, desired: ProcessSpec): void {
    const current = record.specHash === this.hash;
    const instance = new Instance(
      {
        id: record.instance,
        service: this.service,
        version: this.version,
        index: record.index,
        seq: this.ctx.nextSeq(),
        spec: current ? desired : { command: record.command, args: record.args, cwd: '', env: {} },
        specHash: record.specHash,
        respawnable: current,
      },
      this.host,
    );
    this.instances.set(instance.id, instance);
    instance.adopt(record);
  }

  /** Converge one step at a time until nothing is left to do now; re-entrant calls are folded in. */
  reconcile(): void {
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = true;
    try {
      do {
        this.again = false;
        while (!this.ctx.closed() && this.step()) this.again = false;
      } while (this.again && !this.ctx.closed());
    } finally {
      this.reconciling = false;
    }
  }

  /** One action toward the desired state; false when there is nothing to do until something changes. */
  private step(): boolean {
    const live = [...this.instances.values()].filter((i) => i.isLive());
    if (!this.desired) {
      for (const instance of live) this.stopInstance(instance);
      return false;
    }
    const want = this.desired.instances;
    const current = live.filter((i) => i.specHash === this.hash);
    const old = live.filter((i) => i.specHash !== this.hash);
    if (current.length > want) {
      // Newest first: the longest-running instances are the proven ones.
      this.stopInstance(newestFirst(current)[0]!);
      return true;
    }
    if (old.length === 0) {
      if (this.failure || current.length >= want) return false;
      this.createInstance();
      return true;
    }
    // Rolling replacement, surge one: start a new instance, wait until it is ready, then drain an old one.
    const idle = old.find((i) => !i.hasProcess());
    if (idle) {
      this.stopInstance(idle);
      return true;
    }
    if (this.failure) {
      // The new spec can't start: the old instances keep serving, only an excess is trimmed.
      if (old.length <= want) return false;
      this.stopInstance(stopOrder(old)[0]!);
      return true;
    }
    if (current.some((i) => !i.isReady())) return false;
    if (current.length + old.length > want) {
      this.stopInstance(stopOrder(old)[0]!);
      return true;
    }
    if (current.length < want) {
      this.createInstance();
      return true;
    }
    return false;
  }

  private createInstance(): void {
    const used = new Set([...this.instances.values()].map((i) => i.identity.index));
    let index = 1;
    while (used.has(index)) index++;
    const instance = new Instance(
      {
        id: `${this.service}-${this.version}-${index}`,
        service: this.service,
        version: this.version,
        index,
        seq: this.ctx.nextSeq(),
        spec: this.desired!.process,
        specHash: this.hash,
        respawnable: true,
      },
      this.host,
    );
    this.instances.set(instance.id, instance);
    instance.start().catch((error: unknown) => this.ctx.logger.error({ instance: instance.id, err: error }, 'instance start failed'));
  }

  private stopInstance(instance: Instance): void {
    void this.stop(instance);
  }

  private async stop(instance: Instance): Promise<void> {
    try {
      await instance.stop();
    } catch (error) {
      this.ctx.logger.error({ instance: instance.id, err: error }, 'instance stop failed');
    }
    if (this.instances.get(instance.id) === instance) this.instances.delete(instance.id);
    this.ctx.changed(this);
  }

  /** Stops every instance (supervisor stop). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => this.stop(i)));
  }

  releaseAll(): void {
    for (const instance of this.instances.values()) instance.release();
  }

  private shouldRestart(instance: Instance, facts: ExitFacts, exit: ExitInfo): boolean {
    if (!instance.identity.respawnable) return false;
    if (facts.reason === 'killed') return true;
    // Instances of a replaced spec are on their way out: keep them serving, judge only the desired spec.
    if (instance.specHash !== this.hash || !this.desired) return true;
    if (this.failure) return false;
    const description = describeExit(instance, facts, exit);
    this.quickExits = isQuickExit(facts, this.ctx.policy) ? this.quickExits + 1 : 0;
    if (this.quickExits >= this.ctx.policy.quickExitLimit) {
      this.markFailed(`failed to start ${this.quickExits} times in a row: ${description}`);
      return false;
    }
    this.lastFailure = description;
    if (countsTowardCrashLoop(facts) && this.crashLoop.record()) {
      const reason = this.crashLoopReason();
      this.ctx.logger.warn({ service: this.service, version: this.version, reason }, 'version is crash-looping');
      this.ctx.emit({
        type: 'version.crash-loop',
        service: this.service,
        version: this.version,
        at: this.ctx.clock.now(),
        data: { reason },
      });
      this.ctx.changed(this);
    }
    return true;
  }

  private markFailed(reason: string): void {
    this.failure = reason;
    this.ctx.logger.error({ service: this.service, version: this.version, reason }, 'version failed; not retrying');
    this.ctx.emit({ type: 'version.failed', service: this.service, version: this.version, at: this.ctx.clock.now(), data: { reason } });
    for (const instance of this.instances.values()) if (instance.specHash === this.hash) instance.giveUp();
    this.ctx.changed(this);
  }

  private crashLoopReason(): string {
    const windowS = Math.round(this.ctx.policy.crashLoopWindowMs / 1000);
    return `crash loop: ${this.crashLoop.count()} failures within ${windowS} s without staying ready; last: ${this.lastFailure ?? 'unknown'}`;
  }

  status(): VersionStatus {
    const all = [...this.instances.values()];
    const live = all.filter((i) => i.isLive());
    const ready = all.filter((i) => i.isReady()).length;
    const desired = this.desired?.instances ?? 0;
    const base = { service: this.service, version: this.version, ready, desired };
    if (this.desired && this.failure) return { ...base, health: 'failed', reason: this.failure };
    if (this.desired && this.crashLoop.isLooping()) return { ...base, health: 'crash-loop', reason: this.crashLoopReason() };
    const currentReady = live.filter((i) => i.specHash === this.hash && i.isReady()).length;
    const stale = live.some((i) => i.specHash !== this.hash) || !this.desired;
    return { ...base, health: !stale && currentReady >= desired ? 'healthy' : 'progressing' };
  }

  endpoints(): Endpoint[] {
    return [...this.instances.values()]
      .filter((i) => i.isReady())
      .sort((a, b) => a.identity.index - b.identity.index)
      .map((i) => ({ id: i.id, host: '127.0.0.1', port: i.port }));
  }
}

function newestFirst(instances: Instance[]): Instance[] {
  return [...instances].sort((a, b) => b.identity.seq - a.identity.seq);
}

/** Which old instance goes first in a rollout: those not serving, then the newest. */
function stopOrder(instances: Instance[]): Instance[] {
  return newestFirst(instances).sort((a, b) => Number(a.isReady()) - Number(b.isReady()));
}

function describeExit(instance: Instance, facts: ExitFacts, exit: ExitInfo): string {
  const spec = instance.identity.spec;
  if (exit.spawnError) {
    // spawn() reports a missing cwd as the command's ENOENT; say which one it really is.
    const cause =
      spec.cwd && !existsSync(spec.cwd)
        ? `working directory ${spec.cwd} does not exist (${exit.spawnError.message})`
        : exit.spawnError.message;
    return `could not start ${JSON.stringify([spec.command, ...spec.args].join(' '))}: ${cause}`;
  }
  const how =
    facts.reason === 'liveness'
      ? 'failed its liveness check'
      : facts.reason === 'not-ready'
        ? 'never became ready'
        : exit.signal
          ? `was killed by ${exit.signal}`
          : `exited with code ${exit.code}`;
  const stderr = instance.outputTail(10, 'stderr').filter((l) => !l.startsWith('[opsdeck]'));
  const output = stderr.length > 0 ? stderr : instance.outputTail(10).filter((l) => !l.startsWith('[opsdeck]'));
  const tail = output.length > 0 ? `; last output:\n${output.join('\n')}` : '; no output';
  return `${instance.id} ${how} after ${facts.uptimeMs} ms${tail}`;
}
