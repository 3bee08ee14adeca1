import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { EmitEvent } from '../contracts.js';
import type { AgentEventType, HealthCheckSpec, InstanceState, InstanceStatus, ProcessSpec, ShutdownSpec } from '../protocol.js';
import { stopGracefully } from './graceful-stop.js';
import { type ProbeResult, probeHttp } from './health-probe.js';
import type { InstanceOutput, OutputFds, OutputFiles } from './instance-output.js';
import type { LogStore } from './log-store.js';
import type { PidFiles, PidRecord } from './pid-files.js';
import { adoptProcess, type ExitInfo, type ProcessHandle, signalGroup, spawnProcess } from './process-handle.js';
import { type ExitFacts, type FailureReason, RestartBackoff, type RestartPolicyConfig } from './restart-policy.js';

/** What an instance needs from the version that owns it. */
export interface InstanceHost {
  clock: Clock;
  logger: Logger;
  logs: LogStore;
  outputs: OutputFiles;
  pidFiles: PidFiles;
  emit: EmitEvent;
  policy: RestartPolicyConfig;
  baseEnv: Record<string, string>;
  allocatePort(): Promise<number>;
  healthCheck(): HealthCheckSpec;
  shutdown(): ShutdownSpec;
  startTimeoutMs(): number;
  adoptPollMs: number;
  drain(instanceId: string, graceMs: number): Promise<void>;
  /** Readiness, draining or the process changed: endpoints and convergence may need updating. */
  changed(instance: Instance): void;
  /** The process ended without being asked to; false means "stop retrying" (the version failed). */
  shouldRestart(instance: Instance, facts: ExitFacts, exit: ExitInfo): boolean;
  becameReady(instance: Instance): void;
  /** Ready for the stable period: the run counts as healthy. */
  becameStable(instance: Instance): void;
}

export interface InstanceIdentity {
  id: string;
  service: string;
  version: string;
  index: number;
  /** Creation order within the supervisor: scale-down removes the newest first. */
  seq: number;
  spec: ProcessSpec;
  specHash: string;
  /** False for an adopted process of an older spec we can't reproduce: when it ends, it is replaced, not restarted. */
  respawnable: boolean;
}

type TimerName = 'probe' | 'deadline' | 'stable' | 'restart';

/**
 * One instance slot `<service>-<version>-<n>` and the process currently filling it: start,
 * readiness, liveness, restart with backoff, drain and stop. Restarts reuse the slot (same id,
 * `restarts` counts them); a stop ends it.
 */
export class Instance {
  state: InstanceState = 'starting';
  restarts = 0;
  port = 0;
  startedAt: number;
  readyAt: number | null = null;
  lastExit: InstanceStatus['lastExit'] = null;
  /** The version gave up on this slot (failed); it stays listed as crashed until removed. */
  gaveUp = false;

  private handle: ProcessHandle | null = null;
  /** The slot's output files, followed across restarts until the slot stops or is released. */
  private output: InstanceOutput | null = null;
  /** The pid file of the running process, rewritten with fresh output offsets on detach. */
  private record: PidRecord | null = null;
  private run = 0;
  private runLogSeq = 0;
  private healthFailures = 0;
  private stable = false;
  private pendingFailure: FailureReason | null = null;
  private stopping = false;
  private released = false;
  private stopPromise: Promise<void> | null = null;
  private readonly timers = new Map<TimerName, () => void>();
  private readonly backoff: RestartBackoff;

  constructor(
    readonly identity: InstanceIdentity,
    private readonly host: InstanceHost,
  ) {
    this.startedAt = host.clock.now();
    this.backoff = new RestartBackoff(host.policy);
  }

  get id(): string {
    return this.identity.id;
  }

  get specHash(): string {
    return this.identity.specHash;
  }

  get pid(): number | null {
    return this.handle?.pid ?? null;
  }

  /** Not stopping or stopped: counts toward the version's instances. */
  isLive(): boolean {
    return !this.stopping && this.state !== 'stopped';
  }

  isReady(): boolean {
    return this.state === 'ready';
  }

  /** A process is running (or being started) for this slot. */
  hasProcess(): boolean {
    return this.state === 'starting' || this.state === 'ready' || this.state === 'unready';
  }

  status(): InstanceStatus {
    const { id, service, version } = this.identity;
    return {
      id,
      service,
      version,
      pid: this.pid,
      port: this.port,
      state: this.state,
      restarts: this.restarts,
      startedAt: this.startedAt,
      readyAt: this.readyAt,
      lastExit: this.lastExit,
    };
  }

  /** Output of the current (or last) run, oldest first. */
  outputTail(count: number, stream?: 'stdout' | 'stderr'): string[] {
    const lines = this.host.logs.tail(this.id, 1_000, this.runLogSeq).filter((l) => !stream || l.stream === stream);
    return lines.slice(-count).map((l) => l.line);
  }

  start(): Promise<void> {
    return this.launch(null);
  }

  /**
   * Takes over a process a previous agent started. Its output files are followed from the offsets
   * in the pid file (what it wrote while no agent was reading is read at once), else from their end.
   */
  adopt(record: PidRecord): void {
    const run = ++this.run;
    this.resetRun();
    this.port = record.port;
    this.startedAt = record.startedAt;
    const handle = adoptProcess({ pid: record.pid, pgid: record.pgid, clock: this.host.clock, pollMs: this.host.adoptPollMs });
    this.handle = handle;
    this.record = record;
    this.runLogSeq = this.host.logs.lastSeq();
    const resumed = record.output ? 'where the last agent stopped reading' : 'their end';
    this.note(`adopted running process pid ${record.pid} on port ${record.port}; following its output files from ${resumed}`);
    this.host.logger.info({ instance: this.id, pid: record.pid, port: record.port }, 'adopted instance');
    try {
      this.output ??= this.host.outputs.follow(
        { service: record.service, version: record.version, instance: this.id },
        record.output ?? 'end',
      );
    } catch (error) {
      this.outputUnavailable(error);
    }
    this.emit('instance.started', { pid: record.pid, port: record.port, adopted: true });
    this.guard(handle.exited.then((info) => this.onExit(run, handle, info)));
    this.watch(run);
  }

  /** Chaos: SIGKILL a ready instance; it is replaced at once and not held against the version. */
  kill(): boolean {
    if (this.state !== 'ready' || !this.handle || this.stopping) return false;
    this.pendingFailure = 'killed';
    this.cancel('probe', 'deadline', 'stable');
    this.emit('instance.killed', { pid: this.handle.pid, signal: 'SIGKILL' });
    this.host.logger.info({ instance: this.id, pid: this.handle.pid }, 'killing instance (chaos)');
    this.handle.signalGroup('SIGKILL');
    return true;
  }

  /** The version failed: no more restarts for this slot. */
  giveUp(): void {
    this.gaveUp = true;
    if (this.timers.has('restart')) {
      this.cancel('restart');
      this.state = 'crashed';
    }
  }

  /** Drain (router), then the shutdown signal to the group, SIGKILL after the grace period. */
  stop(): Promise<void> {
    this.stopping = true;
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  /**
   * Detach: stop watching and leave the process running. Its pid file is rewritten with the offsets
   * read so far, so the next agent picks up its output where this one stopped.
   */
  release(): void {
    this.released = true;
    this.cancel('probe', 'deadline', 'stable', 'restart');
    this.handle?.release();
    const output = this.output;
    this.output = null;
    if (!output) return;
    output.catchUp();
    if (this.record && this.handle) this.writeRecord({ ...this.record, output: output.positions() });
    output.close();
  }

  private async launch(restart: { reason: FailureReason; delayMs: number } | null): Promise<void> {
    const run = ++this.run;
    this.resetRun();
    let port: number;
    try {
      port = await this.host.allocatePort();
    } catch (error) {
      if (run === this.run && !this.stopping && !this.released) {
        this.onExit(run, null, { code: null, signal: null, spawnError: error as Error });
      }
      return;
    }
    if (run !== this.run || this.stopping || this.released) return;
    const { id, service, version, spec } = this.identity;
    this.port = port;
    this.startedAt = this.host.clock.now();
    this.runLogSeq = this.host.logs.lastSeq();
    const env = {
      ...this.host.baseEnv,
      ...spec.env,
      PORT: String(port),
      OPSDECK_SERVICE: service,
      OPSDECK_VERSION: version,
      OPSDECK_INSTANCE: id,
    };
    const handle = spawnProcess({ spec, env, output: this.childOutput() });
    this.handle = handle;
    if (restart) {
      this.restarts++;
      this.emit('instance.restarted', { reason: restart.reason, restarts: this.restarts, delayMs: restart.delayMs });
    }
    if (handle.pid !== null) {
      this.writePidFile({ pid: handle.pid, pgid: handle.pgid ?? handle.pid, port });
      this.emit('instance.started', { pid: handle.pid, port });
      this.host.logger.info({ instance: id, pid: handle.pid, port }, 'instance started');
    }
    this.guard(handle.exited.then((info) => this.onExit(run, handle, info)));
    if (handle.pid !== null) this.watch(run);
  }

  private writePidFile(process: { pid: number; pgid: number; port: number }): void {
    const { id, service, version, index, spec } = this.identity;
    const record = { instance: id, service, version, index, ...process, specHash: this.specHash, command: spec.command, args: spec.args };
    // Where this run's output begins: an agent killed before it could detach resumes from here.
    this.writeRecord({ ...record, startedAt: this.startedAt, output: this.output?.positions() });
  }

  private writeRecord(record: PidRecord): void {
    this.record = record;
    try {
      this.host.pidFiles.write(record);
    } catch (error) {
      // The instance runs fine without it; only a later agent could not adopt it.
      this.host.logger.error({ instance: this.id, err: error }, 'cannot write pid file; a restarted agent will not adopt this instance');
    }
  }

  /**
   * Fresh O_APPEND fds on the slot's output files (followed from their current end the first time,
   * then across restarts), or null: the instance runs with its output discarded.
   */
  private childOutput(): OutputFds | null {
    const { service, version, id } = this.identity;
    try {
      this.output ??= this.host.outputs.follow({ service, version, instance: id }, 'end');
      return this.output.openForChild();
    } catch (error) {
      this.outputUnavailable(error);
      return null;
    }
  }

  private outputUnavailable(error: unknown): void {
    // Running without captured output beats not running: the service keeps serving.
    this.host.logger.error({ instance: this.id, err: error }, 'cannot open instance output files; its output is discarded');
    this.note(`cannot open output files (${(error as Error).message}); this run's output is discarded`);
  }

  private resetRun(): void {
    this.state = 'starting';
    this.readyAt = null;
    this.healthFailures = 0;
    this.stable = false;
    this.pendingFailure = null;
  }

  /** Health loop and start deadline for this run. */
  private watch(run: number): void {
    this.schedule('probe', this.host.healthCheck().intervalMs, () => this.guard(this.probe(run)));
    this.schedule('deadline', this.host.startTimeoutMs(), () => {
      if (run === this.run && this.state === 'starting') this.failRun('not-ready', 'never became ready');
    });
  }

  private async probe(run: number): Promise<void> {
    if (!this.current(run) || !this.hasProcess()) return;
    const check = this.host.healthCheck();
    const result = await probeHttp({ host: '127.0.0.1', port: this.port, path: check.path, timeoutMs: check.timeoutMs });
    if (!this.current(run) || !this.hasProcess()) return;
    this.observe(result, check);
    if (this.current(run) && this.hasProcess()) this.schedule('probe', check.intervalMs, () => this.guard(this.probe(run)));
  }

  private current(run: number): boolean {
    return run === this.run && this.handle !== null && !this.stopping && !this.released && this.pendingFailure === null;
  }

  private observe(result: ProbeResult, check: HealthCheckSpec): void {
    if (result.ok) {
      this.healthFailures = 0;
      if (this.state !== 'ready') this.becomeReady();
      return;
    }
    this.healthFailures++;
    const threshold = Math.max(1, check.failureThreshold);
    if (this.state === 'ready' && this.healthFailures >= threshold) {
      this.state = 'unready';
      this.cancel('stable');
      this.host.logger.warn({ instance: this.id, failures: this.healthFailures, probe: result }, 'instance unready');
      this.host.changed(this);
    } else if (this.state === 'unready' && this.healthFailures >= 2 * threshold) {
      this.failRun('liveness', `health check failed ${this.healthFailures} times (${result.error ?? `status ${result.status}`})`);
    }
  }

  private becomeReady(): void {
    const recovered = this.readyAt !== null;
    this.state = 'ready';
    this.readyAt ??= this.host.clock.now();
    this.cancel('deadline');
    this.emit('instance.ready', { port: this.port, recovered });
    const run = this.run;
    this.schedule('stable', this.host.policy.stableAfterMs, () => {
      if (run !== this.run || this.state !== 'ready') return;
      this.stable = true;
      this.backoff.reset();
      this.host.becameStable(this);
    });
    this.host.becameReady(this);
    this.host.changed(this);
  }

  /** Liveness or start timeout: kill the run; the exit path restarts it. */
  private failRun(reason: FailureReason, detail: string): void {
    if (!this.handle) return;
    this.pendingFailure = reason;
    this.cancel('probe', 'deadline', 'stable');
    this.host.logger.warn({ instance: this.id, pid: this.handle.pid, reason, detail }, 'restarting instance');
    this.note(`restarting: ${detail}`);
    this.handle.signalGroup('SIGKILL');
  }

  private onExit(run: number, handle: ProcessHandle | null, info: ExitInfo): void {
    if (this.released || run !== this.run) return;
    const now = this.host.clock.now();
    this.cancel('probe', 'deadline', 'stable');
    if (this.handle === handle) this.handle = null;
    this.lastExit = { code: info.code, signal: info.signal, at: now };
    this.host.pidFiles.remove(this.id);
    this.record = null;
    // The group leader is gone; anything it forked must not outlive it (and hold its port).
    if (handle?.pid) signalGroup(null, handle.pgid, 'SIGKILL');
    // Its last lines (written just before it died) go into the ring before the crash is reported.
    this.output?.drain();
    if (this.stopping) return; // stop() reports the end
    const reason = this.pendingFailure ?? 'crash';
    this.pendingFailure = null;
    const uptimeMs = Math.max(0, now - this.startedAt);
    if (reason === 'crash') {
      const output = this.outputTail(20);
      this.emit('instance.crashed', { code: info.code, signal: info.signal, error: info.spawnError?.message, uptimeMs, output });
      this.host.logger.warn(
        { instance: this.id, code: info.code, signal: info.signal, error: info.spawnError?.message },
        'instance crashed',
      );
    }
    const facts: ExitFacts = { reason, everReady: this.readyAt !== null, stable: this.stable, uptimeMs, spawnError: !!info.spawnError };
    this.state = 'crashed';
    if (this.host.shouldRestart(this, facts, info) && !this.gaveUp) {
      const delayMs = reason === 'killed' ? 0 : this.backoff.next();
      this.state = 'backoff';
      this.schedule('restart', delayMs, () => {
        if (!this.stopping && !this.released) this.guard(this.launch({ reason, delayMs }));
      });
    } else {
      this.gaveUp = true;
    }
    this.host.changed(this);
  }

  private async doStop(): Promise<void> {
    this.cancel('probe', 'deadline', 'stable', 'restart');
    const handle = this.handle;
    if (!handle || handle.pid === null) return this.finish(null, false);
    const served = this.readyAt !== null;
    this.state = 'draining';
    this.host.changed(this);
    const shutdown = this.host.shutdown();
    const { info, forced } = await stopGracefully({
      handle,
      clock: this.host.clock,
      shutdown,
      // Only an instance that was ever ready can have had traffic to drain.
      drain: served ? () => this.host.drain(this.id, shutdown.gracePeriodMs) : undefined,
      onDrainError: (error) => this.host.logger.warn({ instance: this.id, err: error }, 'drain hook failed; stopping anyway'),
      onForce: () => this.host.logger.warn({ instance: this.id, pid: handle.pid, ...shutdown }, 'grace period over, sending SIGKILL'),
    });
    this.finish(info, forced);
  }

  private finish(info: ExitInfo | null, forced: boolean): void {
    if (info) this.lastExit = { code: info.code, signal: info.signal, at: this.host.clock.now() };
    this.handle = null;
    this.state = 'stopped';
    this.host.pidFiles.remove(this.id);
    this.record = null;
    this.output?.drain();
    this.output?.close();
    this.output = null;
    this.emit('instance.stopped', { code: info?.code ?? null, signal: info?.signal ?? null, forced });
    this.host.logger.info({ instance: this.id, forced }, 'instance stopped');
    this.host.logs.end(this.id);
    this.host.changed(this);
  }

  /** Background work must never become an unhandled rejection: that would take the agent down. */
  private guard(work: Promise<void>): void {
    work.catch((error: unknown) => this.host.logger.error({ instance: this.id, err: error }, 'instance supervision step failed'));
  }

  private schedule(name: TimerName, ms: number, fn: () => void): void {
    this.cancel(name);
    const cancel = this.host.clock.setTimer(ms, () => {
      this.timers.delete(name);
      fn();
    });
    this.timers.set(name, cancel);
  }

  private cancel(...names: TimerName[]): void {
    for (const name of names) {
      this.timers.get(name)?.();
      this.timers.delete(name);
    }
  }

  /** A line from the supervisor in the instance's log, so `opsdeck logs` shows why things happened. */
  private note(text: string): void {
    const { service, version, id } = this.identity;
    this.host.logs.append({ service, version, instance: id }, 'stderr', `[opsdeck] ${text}`);
  }

  private emit(type: Extract<AgentEventType, `instance.${string}`>, data: Record<string, unknown>): void {
    const { service, version, id } = this.identity;
    this.host.emit({ type, service, version, instance: id, at: this.host.clock.now(), data });
  }
}
