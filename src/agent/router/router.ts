import type { Logger } from 'pino';
import type { EmitEvent, Endpoint, Router } from '../contracts.js';
import type { DesiredFault, DesiredService, VersionTraffic } from '../protocol.js';
import type { RouterClock } from './clock.js';
import type { RouterContext } from './context.js';
import { ServiceEndpoints } from './endpoints.js';
import { FaultTable, unrefTimer } from './faults.js';
import { ServiceProxy } from './service-proxy.js';
import { buildRuntime } from './service-runtime.js';
import { RouterMetrics } from './traffic.js';

/** A service whose listener could not start (port in use, permission); retried until it works. */
export interface RouterFailure {
  service: string;
  host: string;
  port: number;
  /** e.g. EADDRINUSE, EACCES. */
  code: string;
  message: string;
  at: number;
}

export interface RouterOptions {
  logger: Logger;
  emit: EmitEvent;
  clock?: RouterClock;
  random?: () => number;
}

/** The Router contract plus what the agent needs to report on it. */
export interface OpsdeckRouter extends Router {
  /** Services without a listener and why; each also emitted one `router.failed` event. */
  failures(): RouterFailure[];
  /** Where each running listener is bound (the real port when the desired one is 0). */
  listeners(): Array<{ service: string; host: string; port: number }>;
}

const DEFAULT_HOST = '127.0.0.1';
/** How often a listener that failed to start is tried again (the port may be freed meanwhile). */
const LISTEN_RETRY_MS = 5000;
/** Extra time, beyond the service's request timeout, that a removed listener's in-flight requests get. */
const CLOSE_GRACE_EXTRA_MS = 1000;

interface ServiceState {
  name: string;
  endpoints: ServiceEndpoints;
  spec?: DesiredService;
  proxy?: ServiceProxy;
}

export function createRouter(options: RouterOptions): OpsdeckRouter {
  const clock: RouterClock = options.clock ?? { now: () => Date.now() };
  const logger = options.logger.child({ module: 'router' });
  const metrics = new RouterMetrics();
  const random = options.random ?? Math.random;
  const faults = new FaultTable({ clock, emit: options.emit, logger, random });
  const ctx: RouterContext = { clock, random, emit: options.emit, logger, metrics, faults };
  const services = new Map<string, ServiceState>();
  const failures = new Map<string, RouterFailure>();
  const closing = new Set<Promise<void>>();
  let applying: Promise<void> = Promise.resolve();
  let cancelRetry: (() => void) | undefined;
  let closed = false;

  const state = (name: string): ServiceState => {
    let s = services.get(name);
    if (!s) {
      s = { name, endpoints: new ServiceEndpoints() };
      services.set(name, s);
    }
    return s;
  };

  const retire = (proxy: ServiceProxy, timeoutMs: number) => {
    const done = proxy.close(timeoutMs + CLOSE_GRACE_EXTRA_MS).finally(() => closing.delete(done));
    closing.add(done);
  };

  const start = async (s: ServiceState, spec: DesiredService): Promise<void> => {
    const host = spec.host ?? DEFAULT_HOST;
    const proxy = new ServiceProxy(ctx, buildRuntime(spec, s.endpoints, metrics, clock.now()), host, spec.port);
    try {
      await proxy.listen();
    } catch (error) {
      const err = error as NodeJS.ErrnoException;
      const failure = { service: spec.name, host, port: spec.port, code: err.code ?? 'ERROR', message: err.message, at: clock.now() };
      const previous = failures.get(spec.name);
      failures.set(spec.name, failure);
      if (previous?.port === failure.port && previous.host === failure.host && previous.code === failure.code) return;
      logger.error({ service: spec.name, host, port: spec.port, code: failure.code }, 'router listener failed');
      options.emit({
        type: 'router.failed',
        service: spec.name,
        data: { host, port: spec.port, code: failure.code, message: err.message },
      });
      return;
    }
    failures.delete(spec.name);
    s.proxy = proxy;
    logger.info({ service: spec.name, host, port: proxy.address() }, 'router listening');
  };

  const converge = async (desired: DesiredService[]): Promise<void> => {
    const wanted = new Map(desired.map((spec) => [spec.name, spec]));
    // Free the ports of removed and moved listeners first: another service may be moving onto them.
    for (const s of services.values()) {
      const spec = wanted.get(s.name);
      if (s.proxy && (!spec || (spec.host ?? DEFAULT_HOST) !== s.proxy.host || spec.port !== s.proxy.port)) {
        retire(s.proxy, s.spec?.routing.timeoutMs ?? 0);
        s.proxy = undefined;
      }
      if (!spec) {
        s.spec = undefined;
        failures.delete(s.name);
        metrics.retain(s.name, new Set());
      }
    }
    const starting: Promise<void>[] = [];
    for (const spec of desired) {
      const s = state(spec.name);
      s.spec = spec;
      const keep = new Set(spec.versions.map((v) => v.version));
      s.endpoints.prune(keep);
      metrics.retain(spec.name, keep.add(''));
      if (s.proxy) s.proxy.runtime = buildRuntime(spec, s.endpoints, metrics, clock.now());
      else starting.push(start(s, spec));
    }
    await Promise.all(starting);
    scheduleRetry();
  };

  const scheduleRetry = () => {
    cancelRetry?.();
    cancelRetry = undefined;
    if (failures.size === 0 || closed) return;
    cancelRetry = unrefTimer(LISTEN_RETRY_MS, () => {
      cancelRetry = undefined;
      applying = applying.then(async () => {
        if (closed) return;
        await Promise.all(
          [...failures.keys()].flatMap((name) => {
            const s = services.get(name);
            return s?.spec && !s.proxy ? [start(s, s.spec)] : [];
          }),
        );
        scheduleRetry();
      });
    });
  };

  return {
    metrics: metrics.registry,

    apply(desired: DesiredService[]): Promise<void> {
      const run = applying.then(() => (closed ? undefined : converge(desired)));
      applying = run.catch((err) => logger.error({ err }, 'router apply failed'));
      return run;
    },

    setEndpoints(service: string, endpoints: Map<string, Endpoint[]>): void {
      state(service).endpoints.replace(endpoints);
    },

    setFaults(list: DesiredFault[]): void {
      faults.set(list);
    },

    async drain(service: string, instanceId: string, graceMs: number): Promise<void> {
      const endpoint = services.get(service)?.endpoints.find(instanceId);
      if (!endpoint) return;
      endpoint.draining = true;
      if (endpoint.outstanding === 0) return;
      let cancel: (() => void) | undefined;
      const grace = new Promise<void>((resolve) => {
        cancel = clock.setTimer ? clock.setTimer(graceMs, resolve) : unrefTimer(graceMs, resolve);
      });
      await Promise.race([endpoint.whenIdle(), grace]);
      cancel?.();
      if (endpoint.outstanding > 0)
        logger.warn({ service, instance: instanceId, inFlight: endpoint.outstanding, graceMs }, 'drain grace expired');
    },

    takeTraffic(): VersionTraffic[] {
      return metrics.take(clock.now());
    },

    failures: () => [...failures.values()],

    listeners: () =>
      [...services.values()].flatMap((s) =>
        s.proxy ? [{ service: s.name, host: s.proxy.host, port: s.proxy.address() ?? s.proxy.port }] : [],
      ),

    async close(): Promise<void> {
      closed = true;
      cancelRetry?.();
      await applying;
      for (const s of services.values()) {
        if (s.proxy) retire(s.proxy, s.spec?.routing.timeoutMs ?? 0);
        s.proxy = undefined;
      }
      await Promise.all([...closing]);
      faults.close();
      for (const s of services.values()) s.endpoints.destroyAll();
    },
  };
}
