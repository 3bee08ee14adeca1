import { parsePromDuration } from '../../telemetry/index.js';
import { matchersPredicate, parseMatcher, type SilenceMatcher } from '../silences/matchers.js';
import { ROUTE_DEFAULTS, type RouteNode } from './routing.schema.js';

export interface RouteResult {
  receiver: string;
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  /** Indexes from the root to the matching node, e.g. [] for the root, [1, 0]. */
  path: number[];
}

export function matchersOf(texts: string[] | undefined): SilenceMatcher[] {
  return (texts ?? []).map((t) => {
    const m = parseMatcher(t);
    if (typeof m === 'string') throw new Error(m);
    return m;
  });
}

/**
 * Alertmanager's routing: starting at the root, descend into the first child whose matchers all
 * match, depth-first; settings a node leaves out are inherited. (`continue` to several receivers
 * is not supported: one group, one receiver.)
 */
export function routeFor(root: RouteNode | undefined, labels: Record<string, string>): RouteResult {
  const ms = (d: string) => parsePromDuration('duration', d);
  let node: RouteNode = root ?? {};
  const inherited = {
    receiver: node.receiver ?? ROUTE_DEFAULTS.receiver,
    groupWait: node.groupWait ?? ROUTE_DEFAULTS.groupWait,
    groupInterval: node.groupInterval ?? ROUTE_DEFAULTS.groupInterval,
    repeatInterval: node.repeatInterval ?? ROUTE_DEFAULTS.repeatInterval,
  };
  const path: number[] = [];
  for (;;) {
    const i = (node.routes ?? []).findIndex((child) => matchersPredicate(matchersOf(child.matchers))(labels));
    if (i < 0) break;
    node = node.routes![i]!;
    path.push(i);
    inherited.receiver = node.receiver ?? inherited.receiver;
    inherited.groupWait = node.groupWait ?? inherited.groupWait;
    inherited.groupInterval = node.groupInterval ?? inherited.groupInterval;
    inherited.repeatInterval = node.repeatInterval ?? inherited.repeatInterval;
  }
  return {
    receiver: inherited.receiver,
    groupWaitMs: ms(inherited.groupWait),
    groupIntervalMs: ms(inherited.groupInterval),
    repeatIntervalMs: ms(inherited.repeatInterval),
    path,
  };
}
