import type { RoutingSpec } from '../protocol.js';
import type { EndpointPool, EndpointState } from './endpoints.js';

/** Longest ejection, however often an endpoint has been ejected. */
export const MAX_EJECTION_MS = 5 * 60_000;

export interface Ejection {
  durationMs: number;
  until: number;
  /** How many times this endpoint has been ejected in a row (the back-off multiplier). */
  ejections: number;
}

/**
 * Passive outlier detection: feeds one request outcome (5xx, connection error or timeout = failure) and
 * returns the ejection it causes, if any. Outcomes while ejected are ignored, so requests that were already
 * in flight do not extend or renew the ejection.
 */
export function recordOutcome(
  endpoint: EndpointState,
  pool: EndpointPool,
  failed: boolean,
  policy: RoutingSpec['outlier'],
  now: number,
): Ejection | undefined {
  if (!failed) {
    endpoint.consecutiveFailures = 0;
    return undefined;
  }
  if (endpoint.ejectedUntil > now || policy.consecutiveFailures <= 0) return undefined;
  endpoint.consecutiveFailures++;
  if (endpoint.consecutiveFailures < policy.consecutiveFailures) return undefined;
  const allowed = Math.floor((pool.endpoints.length * policy.maxEjectionPercent) / 100);
  let ejected = 0;
  for (const e of pool.endpoints) if (e.ejectedUntil > now) ejected++;
  if (ejected >= allowed) return undefined;
  // The multiplier decays: an endpoint that stayed in for a whole maximum period starts over at 1x.
  if (endpoint.ejectedUntil > 0 && now - endpoint.ejectedUntil > MAX_EJECTION_MS) endpoint.ejections = 0;
  endpoint.ejections++;
  const durationMs = Math.min(policy.baseEjectionMs * endpoint.ejections, MAX_EJECTION_MS);
  endpoint.ejectedUntil = now + durationMs;
  endpoint.consecutiveFailures = 0;
  return { durationMs, until: endpoint.ejectedUntil, ejections: endpoint.ejections };
}
