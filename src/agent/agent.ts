import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { type AgentApi, startAgentApi } from './api.js';
import type { EmitEvent, Router, Supervisor } from './contracts.js';
import { type ControlPlaneClient, createControlPlaneClient } from './control-plane.js';
import type { AgentEvent, DesiredState, VersionTraffic } from './protocol.js';
import { createRouter } from './router/index.js';
import { loadState, saveState } from './state-cache.js';
import { createSupervisor } from './supervisor/index.js';

export interface AgentOptions {
  controlPlaneUrl: string;
  token: string;
  stateDir: string;
  logger: Logger;
  agentId?: string;
  apiHost?: string;
  apiPort?: number;
  reportIntervalMs?: number;
  /** Fallback poll for desired state when the watch stream is down. */
  pollIntervalMs?: number;
}

export interface Agent {
  apiUrl: string;
  supervisor: Supervisor;
  router: Router;
  /** The revision currently applied (from the control plane or the on-disk cache). */
  revision(): number;
  /** Graceful exit: drains and stops every instance (no orphans). */
  stop(): Promise<void>;
}

const MAX_QUEUED_EVENTS = 10_000;
const MAX_QUEUED_TRAFFIC = 5_000;

/** Refuses to run two agents over one state dir: they would fight over the same instances. */
function claimPidFile(stateDir: string, apiUrl: string): string {
  const path = join(stateDir, 'agent.json');
  if (existsSync(path)) {
    try {
      const { pid } = JSON.parse(readFileSync(path, 'utf8')) as { pid: number };
      if (pid !== process.pid && isAlive(pid)) throw new Error(`another agent (pid ${pid}) is running with state dir ${stateDir}`);
    } catch (err) {
      if ((err as Error).message.startsWith('another agent')) throw err;
    }
  }
  writeFileSync(path, JSON.stringify({ pid: process.pid, apiUrl, startedAt: Date.now() }));
  return path;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The data plane: converges the local fleet and routers to the control plane's desired state,
 * keeps serving from its on-disk copy when the control plane is away, and reports back.
 */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const logger = options.logger.child({ module: 'agent' });
  const agentId = options.agentId ?? hostname();
  mkdirSync(options.stateDir, { recursive: true });

  const events: AgentEvent[] = [];
  let reportSoon: () => void = () => {};
  const emit: EmitEvent = (e) => {
    events.push({ ...e, id: newId('aev'), at: e.at ?? Date.now() });
    if (events.length > MAX_QUEUED_EVENTS) events.splice(0, events.length - MAX_QUEUED_EVENTS);
    reportSoon();
  };
  const supervisor = createSupervisor({ stateDir: options.stateDir, logger: options.logger, emit });
  const router = createRouter({ logger: options.logger, emit });
  supervisor.setDrainHook((service, instance, graceMs) => router.drain(service, instance, graceMs));
  supervisor.onEndpointsChanged((service) => router.setEndpoints(service, supervisor.endpoints(service)));

  const api: AgentApi = await startAgentApi({
    host: options.apiHost ?? '127.0.0.1',
    port: options.apiPort ?? 0,
    token: options.token,
    supervisor,
    metrics: [router.metrics],
  });
  const pidFile = claimPidFile(options.stateDir, api.url);
  const controlPlane: ControlPlaneClient = createControlPlaneClient({ url: options.controlPlaneUrl, token: options.token, logger });

  const cached = loadState(options.stateDir);
  let current: DesiredState | undefined = cached?.desired;
  const executed = new Set(cached?.executedActions ?? []);
  let actionsDone: string[] = [];
  let traffic: VersionTraffic[] = [];

  // Desired states are applied one at a time; a newer one arriving meanwhile replaces any queued one.
  let queued: DesiredState | undefined;
  let applying: Promise<void> | undefined;
  async function applyLoop(): Promise<void> {
    while (queued) {
      const desired = queued;
      queued = undefined;
      try {
        await router.apply(desired.services);
        await supervisor.apply(desired.services);
        router.setFaults(desired.faults);
        for (const action of desired.actions) {
          if (executed.has(action.id)) continue;
          if (action.type === 'kill') await supervisor.kill(action.service, action.count, action.version);
          executed.add(action.id);
          actionsDone.push(action.id);
        }
        // Forget executed ids the control plane no longer lists: it has seen them done.
        const listed = new Set(desired.actions.map((a) => a.id));
        for (const id of executed) if (!listed.has(id) && !actionsDone.includes(id)) executed.delete(id);
        current = desired;
        saveState(options.stateDir, { desired, executedActions: [...executed] });
        logger.info({ revision: desired.revision, services: desired.services.length }, 'desired state applied');
      } catch (err) {
        logger.error({ err, revision: desired.revision }, 'applying desired state failed');
      }
      reportSoon();
    }
  }
  /** `authoritative`: a full fetch after (re)connecting, applied even if its revision went down (a reset control plane). */
  function enqueue(desired: DesiredState, authoritative = false): void {
    const latest = queued ?? current;
    if (latest && (authoritative ? desired.revision === latest.revision : desired.revision <= latest.revision)) return;
    queued = desired;
    applying ??= applyLoop().finally(() => {
      applying = undefined;
    });
  }

  let refreshing = false;
  async function refresh(full = false): Promise<void> {
    if (refreshing) return;
    refreshing = true;
    try {
      const next = await controlPlane.desiredState(full ? 0 : (queued?.revision ?? current?.revision ?? 0));
      if (next) enqueue(next, full);
    } catch (err) {
      logger.debug({ err }, 'control plane unreachable; keeping the last desired state');
    } finally {
      refreshing = false;
    }
  }

  let reporting = false;
  async function report(): Promise<void> {
    if (reporting) return;
    reporting = true;
    traffic.push(...router.takeTraffic());
    if (traffic.length > MAX_QUEUED_TRAFFIC) traffic = traffic.slice(-MAX_QUEUED_TRAFFIC);
    const sentEvents = events.slice(0, 500);
    const sentTraffic = traffic.slice();
    const sentActions = actionsDone.slice();
    try {
      await controlPlane.report({
        agentId,
        agentUrl: api.url,
        appliedRevision: current?.revision ?? 0,
        at: Date.now(),
        instances: supervisor.instances(),
        versions: supervisor.versions(),
        events: sentEvents,
        traffic: sentTraffic,
        actionsDone: sentActions,
      });
      events.splice(0, sentEvents.length);
      traffic = traffic.slice(sentTraffic.length);
      actionsDone = actionsDone.filter((id) => !sentActions.includes(id));
    } catch (err) {
      logger.debug({ err }, 'report failed; will retry');
    } finally {
      reporting = false;
    }
  }

  let soon: NodeJS.Timeout | undefined;
  reportSoon = () => {
    soon ??= setTimeout(() => {
      soon = undefined;
      void report();
    }, 200);
    soon.unref();
  };

  if (current) {
    logger.info({ revision: current.revision }, 'serving the cached desired state until the control plane answers');
    const cachedState = current;
    current = undefined;
    enqueue(cachedState);
  }
  const watchAbort = new AbortController();
  void controlPlane.watch(watchAbort.signal, (reconnected) => void refresh(reconnected));
  const poll = setInterval(() => void refresh(), options.pollIntervalMs ?? 10_000);
  const reportTimer = setInterval(() => void report(), options.reportIntervalMs ?? 2_000);
  poll.unref();
  reportTimer.unref();
  logger.info({ agentId, api: api.url, stateDir: options.stateDir }, 'agent started');

  let stopping: Promise<void> | undefined;
  return {
    apiUrl: api.url,
    supervisor,
    router,
    revision: () => current?.revision ?? 0,
    stop() {
      stopping ??= (async () => {
        watchAbort.abort();
        clearInterval(poll);
        clearInterval(reportTimer);
        if (soon) clearTimeout(soon);
        await applying;
        await supervisor.stop();
        await report();
        await router.close();
        await api.close();
        rmSync(pidFile, { force: true });
        logger.info('agent stopped');
      })();
      return stopping;
    },
  };
}
