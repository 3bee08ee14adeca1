import { Agent } from 'node:http';
import type { Endpoint } from '../contracts.js';

/** Free upstream sockets close before Node's default 5 s server keep-alive does, to dodge reuse races. */
const FREE_SOCKET_TIMEOUT_MS = 4000;

/** One upstream instance: its connection pool and the state balancing and outlier ejection keep. */
export class EndpointState {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly agent: Agent;
  /** Requests sent and not yet finished (including mirrored ones). */
  outstanding = 0;
  consecutiveFailures = 0;
  /** Clock time until which the endpoint is ejected; 0 when it never was. */
  ejectedUntil = 0;
  ejections = 0;
  draining = false;
  private retired = false;
  private idleWaiters: Array<() => void> = [];

  constructor(endpoint: Endpoint) {
    this.id = endpoint.id;
    this.host = endpoint.host;
    this.port = endpoint.port;
    this.agent = new Agent({ keepAlive: true, scheduling: 'lifo', timeout: FREE_SOCKET_TIMEOUT_MS, noDelay: true });
  }

  sameAddress(endpoint: Endpoint): boolean {
    return endpoint.host === this.host && endpoint.port === this.port;
  }

  acquire(): void {
    this.outstanding++;
  }

  release(): void {
    this.outstanding--;
    if (this.outstanding === 0 && (this.idleWaiters.length > 0 || this.retired)) this.idle();
  }

  /** Resolves once nothing is in flight. */
  whenIdle(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** No longer an endpoint: takes no new requests; its pool closes when in-flight ones are done. */
  retire(): void {
    this.retired = true;
    this.draining = true;
    if (this.outstanding === 0) this.idle();
  }

  private idle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
    if (this.retired) this.agent.destroy();
  }
}

/** The endpoints of one version, balanced by least outstanding requests. */
export class EndpointPool {
  endpoints: EndpointState[] = [];
  private cursor = 0;

  /**
   * The routable endpoint with the fewest outstanding requests. The scan starts one further each call,
   * so ties rotate round-robin instead of piling onto the first endpoint.
   */
  pick(now: number, exclude?: EndpointState): EndpointState | undefined {
    const list = this.endpoints;
    const n = list.length;
    if (n === 0) return undefined;
    if (++this.cursor >= n) this.cursor = 0;
    let best: EndpointState | undefined;
    for (let i = 0, j = this.cursor; i < n; i++, j = j + 1 === n ? 0 : j + 1) {
      const e = list[j];
      if (e.draining || e.ejectedUntil > now || e === exclude) continue;
      if (best === undefined || e.outstanding < best.outstanding) best = e;
    }
    return best;
  }

  routable(now: number): boolean {
    for (const e of this.endpoints) if (!e.draining && e.ejectedUntil <= now) return true;
    return false;
  }

  find(id: string): EndpointState | undefined {
    return this.endpoints.find((e) => e.id === id);
  }
}

/** Every version's endpoints of one service; pools are stable objects so routing plans can hold them. */
export class ServiceEndpoints {
  private pools = new Map<string, EndpointPool>();

  pool(version: string): EndpointPool {
    let pool = this.pools.get(version);
    if (!pool) {
      pool = new EndpointPool();
      this.pools.set(version, pool);
    }
    return pool;
  }

  /**
   * Replaces the endpoint sets. An endpoint that stays (same id and address) keeps its in-flight count,
   * failure streak, ejection and drain state; one that goes retires once its in-flight requests finish.
   */
  replace(endpoints: Map<string, Endpoint[]>): void {
    const previous = new Map<string, EndpointState>();
    for (const pool of this.pools.values()) for (const e of pool.endpoints) previous.set(e.id, e);
    const kept = new Set<EndpointState>();
    for (const [version, list] of endpoints) {
      const next: EndpointState[] = [];
      for (const endpoint of list) {
        const old = previous.get(endpoint.id);
        const state = old && !kept.has(old) && old.sameAddress(endpoint) ? old : new EndpointState(endpoint);
        kept.add(state);
        next.push(state);
      }
      this.pool(version).endpoints = next;
    }
    for (const [version, pool] of this.pools) if (!endpoints.has(version)) pool.endpoints = [];
    for (const e of previous.values()) if (!kept.has(e)) e.retire();
  }

  find(instanceId: string): EndpointState | undefined {
    for (const pool of this.pools.values()) {
      const e = pool.find(instanceId);
      if (e) return e;
    }
    return undefined;
  }

  /** Forgets empty pools of versions no longer desired. */
  prune(desired: Set<string>): void {
    for (const [version, pool] of this.pools) if (!desired.has(version) && pool.endpoints.length === 0) this.pools.delete(version);
  }

  /** Router shutdown: listeners are closed by now, so pooled sockets go whatever they carry. */
  destroyAll(): void {
    for (const pool of this.pools.values()) {
      for (const e of pool.endpoints) {
        e.retire();
        e.agent.destroy();
      }
      pool.endpoints = [];
    }
  }
}
