import type { DesiredService, RoutingSpec } from '../protocol.js';
import type { EndpointPool, ServiceEndpoints } from './endpoints.js';
import type { RequestHead } from './headers.js';
import { stickyKey, stickyPoint } from './sticky.js';
import type { RouterMetrics, VersionStats } from './traffic.js';
import { BUCKETS, chooseVersion, type WeightTable, weightTable } from './weights.js';

/** One version as routing sees it. */
export interface VersionRoute {
  name: string;
  pool: EndpointPool;
  stats: VersionStats;
}

/**
 * An immutable snapshot of a service's routing configuration. apply() swaps the snapshot a listener
 * reads; a request holds the one it started with, so reconfiguring never disturbs requests in flight.
 */
export interface ServiceRuntime {
  name: string;
  routing: RoutingSpec;
  versions: VersionRoute[];
  byName: Map<string, VersionRoute>;
  table: WeightTable;
  mirror: { route: VersionRoute; percent: number } | undefined;
  /** Lower-cased stickiness header. */
  stickyHeader: string | undefined;
  stickyCookie: string | undefined;
  /** Requests answered before a version was chosen (unknown override, nothing routable). */
  unrouted: VersionStats;
}

export function buildRuntime(spec: DesiredService, endpoints: ServiceEndpoints, metrics: RouterMetrics, now: number): ServiceRuntime {
  const versions = spec.versions.map((v) => ({
    name: v.version,
    pool: endpoints.pool(v.version),
    stats: metrics.version(spec.name, v.version, now),
  }));
  const byName = new Map(versions.map((v) => [v.name, v]));
  const mirrorRoute = spec.routing.mirror ? byName.get(spec.routing.mirror.version) : undefined;
  return {
    name: spec.name,
    routing: spec.routing,
    versions,
    byName,
    table: weightTable(spec.versions.map((v) => v.weight)),
    mirror: mirrorRoute && spec.routing.mirror ? { route: mirrorRoute, percent: spec.routing.mirror.percent } : undefined,
    stickyHeader: spec.routing.stickiness?.header?.toLowerCase(),
    stickyCookie: spec.routing.stickiness?.cookie,
    unrouted: metrics.version(spec.name, '', now),
  };
}

/**
 * The version for a request: the sticky key's bucket when there is one, else a random bucket, over the
 * weight ranges; versions without a routable endpoint hand their share to the others (see chooseVersion).
 */
export function selectRoute(rt: ServiceRuntime, head: RequestHead, now: number, random: () => number): VersionRoute | undefined {
  const { table, versions } = rt;
  const available = (index: number) => versions[index].pool.routable(now);
  const key = head.sticky !== undefined || rt.stickyCookie !== undefined ? stickyKey(head, rt.stickyCookie) : undefined;
  let index: number;
  if (key !== undefined) {
    const point = stickyPoint(rt.name, key);
    index = chooseVersion(table, point.bucket, () => point.spill, available);
  } else {
    // A single weighted version needs no draw.
    index = chooseVersion(table, table.indexes.length > 1 ? random() * BUCKETS : 0, random, available);
  }
  return index < 0 ? undefined : versions[index];
}
