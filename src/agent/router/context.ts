import type { Logger } from 'pino';
import type { EmitEvent } from '../contracts.js';
import type { RouterClock } from './clock.js';
import type { EndpointState } from './endpoints.js';
import type { FaultTable } from './faults.js';
import { recordOutcome } from './outlier.js';
import type { ServiceRuntime, VersionRoute } from './service-runtime.js';
import type { RouterMetrics } from './traffic.js';

/** What every service proxy shares: time, randomness, events, metrics and faults. */
export interface RouterContext {
  clock: RouterClock;
  random: () => number;
  emit: EmitEvent;
  logger: Logger;
  metrics: RouterMetrics;
  faults: FaultTable;
}

/** Feeds an upstream outcome to outlier detection and reports an ejection it causes. */
export function reportOutcome(ctx: RouterContext, rt: ServiceRuntime, route: VersionRoute, endpoint: EndpointState, failed: boolean): void {
  if (!failed) {
    endpoint.consecutiveFailures = 0;
    return;
  }
  const now = ctx.clock.now();
  const ejection = recordOutcome(endpoint, route.pool, true, rt.routing.outlier, now);
  if (!ejection) return;
  ctx.metrics.ejected(rt.name, route.name);
  ctx.logger.warn({ service: rt.name, version: route.name, instance: endpoint.id, ...ejection }, 'instance ejected');
  ctx.emit({
    type: 'instance.ejected',
    at: now,
    service: rt.name,
    version: route.name,
    instance: endpoint.id,
    data: { ...ejection, consecutiveFailures: rt.routing.outlier.consecutiveFailures },
  });
}
