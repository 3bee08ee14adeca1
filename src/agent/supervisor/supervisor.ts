import { join } from 'node:path';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../../core/clock.js';
import type { EmitEvent, Endpoint, LogLine, LogQuery, Supervisor } from '../contracts.js';
import type { DesiredService, InstanceStatus, VersionStatus } from '../protocol.js';
import { stopGracefully } from './graceful-stop.js';
import { OutputFiles } from './instance-output.js';
import { LogStore } from './log-store.js';
import { PidFiles, type PidRecord } from './pid-files.js';
import { allocateEphemeralPort } from './ports.js';
import { adoptProcess, commandMatches, isAlive } from './process-handle.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicyConfig } from './restart-policy.js';
import { specHash, type VersionContext, VersionState } from './version-state.js';

/** Knobs with production defaults; tests shorten them. */
export interface SupervisorTuning extends RestartPolicyConfig {
  /** Start deadline; default max(30 s, 10 × health-check interval). */
  startTimeoutMs?: number;
  /** How often an adopted process (no exit event) is checked for liveness. */
  adoptPollMs: number;
  logRingLines: number;
  /** Instance output files are rotated (copytruncate) beyond this size … */
  logFileMaxBytes: number;
  /** … keeping this many old copies. */
  logFileKeep: number;
  /** How often output files are read when no change notification arrived (fs.watch is the fast path). */
  logPollMs: number;
  /** At adoption, at most this much output written while no agent was reading is read back, per stream. */
  logResumeMaxBytes: number;
}

export const DEFAULT_TUNING: SupervisorTuning = {
  ...DEFAULT_RESTART_POLICY,
  adoptPollMs: 500,
  logRingLines: 1_000,
  logFileMaxBytes: 5 * 1024 * 1024,
  logFileKeep: 3,
  logPollMs: 250,
  logResumeMaxBytes: 1024 * 1024,
};

export interface SupervisorOptions {
  stateDir: string;
  logger: Logger;
  emit: EmitEvent;
  clock?: Clock;
  portAllocator?: () => Promise<number>;
  /** The environment instances inherit under their spec's env; default the agent's own. */
  env?: NodeJS.ProcessEnv;
  tuning?: Partial<SupervisorTuning>;
}

interface ServiceEntry {
  spec: DesiredService;
  versions: Map<string, VersionState>;
}

/** The process supervisor of `opsdeck agent`; see docs/supervisor.md. */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const clock = options.clock ?? systemClock;
  const tuning: SupervisorTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const logger = options.logger.child({ module: 'supervisor' });
  const pidFiles = new PidFiles(options.stateDir);
  const logs = new LogStore({ clock, ringLines: tuning.logRingLines });
  const outputErrors = new Set<string>();
  const outputs = new OutputFiles({
    dir: join(options.stateDir, 'logs'),
    clock,
    logs,
    pollMs: tuning.logPollMs,
    maxBytes: tuning.logFileMaxBytes,
    keep: tuning.logFileKeep,
    maxBacklogBytes: tuning.logResumeMaxBytes,
    onError: (instance, error) => {
      if (outputErrors.has(instance)) return; // once per instance, not once per poll
      outputErrors.add(instance);
      logger.error({ instance, err: error }, 'reading or rotating instance output files failed');
    },
  });
  const services = new Map<string, ServiceEntry>();
  const endpointKeys = new Map<string, string>();
  const endpointListeners = new Set<(service: string) => void>();
  const background = new Set<Promise<void>>();
  let drainHook: (service: string, instanceId: string, graceMs: number) => Promise<void> = async () => {};
  let adopted = false;
  let closed = false;
  let closing: Promise<void> | null = null;
  let seq = 0;

  const basePortAllocator = options.portAllocator ?? (() => allocateEphemeralPort());
  const allocatePort = async (): Promise<number> => {
    // Don't hand out a port a live instance (possibly adopted) already holds.
    const taken = new Set(allInstances().map((i) => i.port));
    for (let attempt = 0; attempt < 10; attempt++) {
      const port = await basePortAllocator();
      if (!taken.has(port)) return port;
    }
    throw new Error('could not allocate a free port');
  };

  const baseEnv = Object.fromEntries(Object.entries(options.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined));

  const ctx: VersionContext = {
    clock,
    logger,
    logs,
    outputs,
    pidFiles,
    emit: (event) => {
      try {
        options.emit(event);
      } catch (error) {
        // The agent's event queue failing must not leave an instance half-way through a transition.
        logger.error({ err: error, event: event.type }, 'emitting an agent event failed');
      }
    },
    policy: tuning,
    baseEnv,
    allocatePort,
    adoptPollMs: tuning.adoptPollMs,
    startTimeoutMs: tuning.startTimeoutMs,
    nextSeq: () => ++seq,
    drain: (service, instanceId, graceMs) => drainHook(service, instanceId, graceMs),
    changed: (version) => {
      const entry = services.get(version.service);
      if (entry && version.isGone() && entry.versions.get(version.version) === version) {
        entry.versions.delete(version.version);
        if (entry.versions.size === 0 && !entry.spec.versions.length) services.delete(version.service);
      }
      notifyIfEndpointsChanged(version.service);
    },
    closed: () => closed,
  };

  function allInstances() {
    return [...services.values()].flatMap((s) => [...s.versions.values()].flatMap((v) => [...v.instances.values()]));
  }

  function endpoints(service: string): Map<string, Endpoint[]> {
    const out = new Map<string, Endpoint[]>();
    for (const [name, version] of services.get(service)?.versions ?? []) out.set(name, version.endpoints());
    return out;
  }

  function notifyIfEndpointsChanged(service: string): void {
    const key = [...endpoints(service)].map(([v, eps]) => `${v}=${eps.map((e) => `${e.id}@${e.port}`).join(',')}`).join(';');
    if (endpointKeys.get(service) === key) return;
    endpointKeys.set(service, key);
    for (const listener of endpointListeners) {
      try {
        listener(service);
      } catch (error) {
        logger.error({ service, err: error }, 'endpoints listener failed');
      }
    }
  }

  function versionState(service: DesiredService | ServiceEntry, version: string): VersionState {
    const name = 'name' in service ? service.name : service.spec.name;
    let entry = services.get(name);
    if (!entry) {
      entry = { spec: 'name' in service ? service : service.spec, versions: new Map() };
      services.set(name, entry);
    }
    let state = entry.versions.get(version);
    if (!state) {
      const owner = entry;
      state = new VersionState(name, version, () => owner.spec, ctx);
      entry.versions.set(version, state);
    }
    return state;
  }

  /** First apply after start: take over live instances a previous agent left, clean up the rest. */
  function adoptFromPidFiles(desired: DesiredService[]): void {
    for (const record of pidFiles.list()) {
      const service = desired.find((s) => s.name === record.service);
      const version = service?.versions.find((v) => v.version === record.version);
      const alive = isAlive(record.pid) && commandMatches(record.pid, record.command, record.args);
      const wellFormed = record.instance === `${record.service}-${record.version}-${record.index}`;
      if (alive && service && version && wellFormed) {
        const state = versionState(service, record.version);
        if (!state.instances.has(record.instance)) {
          state.setDesired(version);
          state.adopt(record, version.process);
          if (record.specHash !== specHash(version.process)) {
            logger.info({ instance: record.instance }, 'adopted an instance of an older spec; it will be replaced');
          }
          continue;
        }
      }
      if (alive) track(terminate(record, service));
      else {
        logger.info({ instance: record.instance, pid: record.pid }, 'removing pid file of a process that is gone');
        pidFiles.remove(record.instance);
      }
    }
  }

  /** An instance nobody wants any more: its group gets the shutdown signal, then SIGKILL. */
  async function terminate(record: PidRecord, service: DesiredService | undefined): Promise<void> {
    const signal = service?.shutdown.signal ?? 'SIGTERM';
    const graceMs = service?.shutdown.gracePeriodMs ?? 10_000;
    logger.info({ instance: record.instance, pid: record.pid, signal }, 'stopping a left-over instance that is no longer desired');
    const handle = adoptProcess({ pid: record.pid, pgid: record.pgid, clock, pollMs: 50 });
    await stopGracefully({ handle, clock, shutdown: { signal, gracePeriodMs: graceMs } });
    // A new instance may have taken the name meanwhile: remove the file only if it is still this one's.
    pidFiles.removeIf(record.instance, record.pid);
  }

  function track(work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) => logger.error({ err: error }, 'background supervisor task failed'))
      .finally(() => background.delete(tracked));
    background.add(tracked);
  }

  function shuffle<T>(items: T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  return {
    async apply(desired) {
      if (closed) throw new Error('supervisor is stopped');
      if (!adopted) {
        adopted = true;
        adoptFromPidFiles(desired);
      }
      const names = new Set(desired.map((s) => s.name));
      for (const service of desired) {
        const entry = services.get(service.name);
        if (entry) entry.spec = service;
        const wanted = new Set(service.versions.map((v) => v.version));
        for (const version of service.versions) versionState(service, version.version).setDesired(version);
        for (const [name, state] of services.get(service.name)?.versions ?? []) if (!wanted.has(name)) state.setDesired(null);
      }
      for (const [name, entry] of services) {
        if (names.has(name)) continue;
        entry.spec = { ...entry.spec, versions: [] };
        for (const state of entry.versions.values()) state.setDesired(null);
      }
      for (const entry of [...services.values()]) for (const state of [...entry.versions.values()]) state.reconcile();
      for (const name of [...services.keys()]) notifyIfEndpointsChanged(name);
    },

    async kill(service, count, version) {
      const candidates = [...(services.get(service)?.versions.values() ?? [])]
        .filter((v) => version === undefined || v.version === version)
        .flatMap((v) => [...v.instances.values()])
        .filter((i) => i.isReady());
      const killed: string[] = [];
      for (const instance of shuffle(candidates)) {
        if (killed.length >= count) break;
        if (instance.kill()) killed.push(instance.id);
      }
      return killed;
    },

    instances(): InstanceStatus[] {
      return allInstances().map((i) => i.status());
    },

    versions(): VersionStatus[] {
      return [...services.values()].flatMap((s) => [...s.versions.values()].map((v) => v.status()));
    },

    endpoints,

    onEndpointsChanged(listener) {
      endpointListeners.add(listener);
    },

    setDrainHook(hook) {
      drainHook = hook;
    },

    logs(query: LogQuery): LogLine[] {
      return logs.query(query);
    },

    followLogs(query, listener) {
      return logs.follow(query, listener);
    },

    stop() {
      if (closing) return closing;
      closed = true;
      closing = (async () => {
        const versions = [...services.values()].flatMap((s) => [...s.versions.values()]);
        await Promise.all(versions.map((v) => v.stopAll()));
        await Promise.all([...background]);
        logger.info('supervisor stopped; all instances exited');
      })();
      return closing;
    },

    detach() {
      if (closing) return closing;
      closed = true;
      closing = (async () => {
        for (const entry of services.values()) for (const version of entry.versions.values()) version.releaseAll();
        await Promise.all([...background]);
        logger.info('supervisor detached; instances keep running for the next agent to adopt');
      })();
      return closing;
    },
  };
}
