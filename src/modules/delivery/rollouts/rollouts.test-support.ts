import { expect } from 'vitest';
import { type AgentEvent, LATENCY_BUCKETS_MS, type VersionHealth, type VersionTraffic } from '../../../agent/protocol.js';
import type { FakeClock } from '../../../core/clock.js';
import type { DialectName } from '../../../core/db/database.js';
import type { DomainEvent } from '../../../core/events/events.js';
import { startTestServer, type TestServer } from '../../../testing/server.js';
import { catalogModule } from '../../catalog/index.js';
import { runtimeModule, type VersionView } from '../../runtime/index.js';
import { telemetryModule } from '../../telemetry/index.js';
import { deliveryModule } from '../index.js';
import type { RolloutView } from './views.js';

// Shared by the rollout engine tests: a server with catalog, runtime and delivery on a fake clock,
// role 'api' so that jobs and subscribers run only when a test says (runDue, dispatch), and a
// scripted agent that reports what the desired state asks for (or what a test says instead).

export const TEAM = { apiVersion: 'opsdeck.dev/v1', kind: 'Team', metadata: { name: 'core' }, spec: { members: [] } };

export function serviceDoc(name: string, port: number, delivery?: Record<string, unknown>, instances = 4): Record<string, unknown> {
  return {
    apiVersion: 'opsdeck.dev/v1',
    kind: 'Service',
    metadata: { name, annotations: { 'opsdeck.dev/version': '1.0.0' } },
    spec: {
      owner: 'core',
      runtime: { kind: 'process', command: 'node', args: ['server.js'], instances, port },
      ...(delivery ? { delivery } : {}),
    },
  };
}

export const doc = (kind: string, name: string, spec: unknown) => ({ apiVersion: 'opsdeck.dev/v1', kind, metadata: { name }, spec });

/** AnalysisTemplates with a known verdict on the first measurement (runtime `requests` query). */
export const TEMPLATES = [
  doc('AnalysisTemplate', 'pass', {
    metrics: [{ name: 'requests', interval: '5s', count: 1, provider: { runtime: { query: 'requests' } } }],
  }),
  doc('AnalysisTemplate', 'fail', {
    metrics: [
      { name: 'requests', interval: '5s', count: 3, failureCondition: 'result >= 0', provider: { runtime: { query: 'requests' } } },
    ],
  }),
  doc('AnalysisTemplate', 'unsure', {
    metrics: [
      {
        name: 'requests',
        interval: '5s',
        count: 3,
        successCondition: 'result > 1000000',
        failureCondition: 'result < 0',
        provider: { runtime: { query: 'requests' } },
      },
    ],
  }),
];

export type ErrorBody = { error: { code: string; message: string; details?: { issues?: { pointer: string; message: string }[] } } };

export async function json<T>(res: Response | Promise<Response>): Promise<{ status: number; body: T }> {
  const r = await res;
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T };
}

interface VersionOverride {
  ready?: number;
  health?: VersionHealth;
  reason?: string;
}

/** A test's handle on a server: the scripted agent, settling background work, and API shortcuts. */
export class Harness {
  agentToken = '';
  /** What the agent reports instead of "all desired instances ready and healthy", by version. */
  readonly overrides = new Map<string, VersionOverride>();
  private pendingEvents: AgentEvent[] = [];
  private pendingTraffic: VersionTraffic[] = [];
  private lastReady = new Map<string, number>();
  private eventSeq = 0;

  constructor(
    readonly server: TestServer,
    readonly clock: FakeClock,
    readonly service = 'feed',
  ) {}

  /** A server on `store` when given (a restart: pass the earlier harness's agent token too). */
  static async start(
    dialect: DialectName,
    clock: FakeClock,
    restart?: { store: TestServer['store']; agentToken: string },
  ): Promise<Harness> {
    const modules = [catalogModule, runtimeModule, telemetryModule, deliveryModule];
    const server = await startTestServer({ dialect, clock, store: restart?.store, role: 'api', modules });
    const h = new Harness(server, clock);
    if (restart) h.agentToken = restart.agentToken;
    else {
      const body = { name: 'agent-1', role: 'agent' };
      h.agentToken = (await json<{ token: string }>(server.request('/api/v1/tokens', { method: 'POST', json: body }))).body.token;
    }
    return h;
  }

  async apply(...documents: unknown[]): Promise<{ status: number; body: ErrorBody }> {
    return json<ErrorBody>(this.server.request('/api/v1/resources/apply', { method: 'POST', json: { documents } }));
  }

  /** Applies the team, the templates and the service, and waits for the runtime to have synced it. */
  async setup(name: string, port: number, delivery?: Record<string, unknown>, instances = 4): Promise<void> {
    const applied = await this.apply(TEAM, ...TEMPLATES, serviceDoc(name, port, delivery, instances));
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    await this.settle(name);
    expect((await this.versions(name)).map((v) => v.version)).toContain('1.0.0');
  }

  event(type: AgentEvent['type'], version: string, data?: Record<string, unknown>, service = this.service): void {
    this.pendingEvents.push({ id: `e${++this.eventSeq}`, type, at: this.clock.now(), service, version, ...(data ? { data } : {}) });
  }

  /** Router traffic for the next report: `requests` with `errors` 5xx, all at ~`latencyMs`. */
  traffic(version: string, requests: number, errors: number, latencyMs = 10, service = this.service): void {
    const buckets = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
    const i = LATENCY_BUCKETS_MS.findIndex((b) => b >= latencyMs);
    buckets[i < 0 ? LATENCY_BUCKETS_MS.length : i] = requests;
    const now = this.clock.now();
    this.pendingTraffic.push({
      service,
      version,
      from: now - 1000 + this.pendingTraffic.length,
      to: now,
      requests,
      byClass: { '2xx': requests - errors, '5xx': errors },
      latencyBuckets: buckets,
    });
  }

  /** Reports every version of the service as the desired state has it (ready and healthy) unless overridden. */
  async report(service = this.service): Promise<void> {
    const versions = await this.versions(service);
    const now = this.clock.now();
    const statuses = versions
      .filter((v) => v.desiredInstances > 0 || this.overrides.has(v.version))
      .map((v) => {
        const o = this.overrides.get(v.version) ?? {};
        const ready = Math.min(o.ready ?? v.desiredInstances, v.desiredInstances);
        const key = `${service}@${v.version}`;
        // A version that gained ready instances says so, as an agent does: the engine reacts to it.
        if (ready > (this.lastReady.get(key) ?? 0)) this.event('instance.ready', v.version, undefined, service);
        this.lastReady.set(key, ready);
        return {
          service,
          version: v.version,
          health: o.health ?? (ready >= v.desiredInstances ? 'healthy' : 'progressing'),
          ready,
          desired: v.desiredInstances,
          ...(o.reason ? { reason: o.reason } : {}),
        };
      });
    const body = {
      agentId: 'agent-1',
      agentUrl: 'http://127.0.0.1:1',
      appliedRevision: 0,
      at: now,
      instances: [],
      versions: statuses,
      events: this.pendingEvents,
      traffic: this.pendingTraffic,
      actionsDone: [],
    };
    this.pendingEvents = [];
    this.pendingTraffic = [];
    const res = await this.server.request('/api/v1/agent/report', { method: 'POST', json: body, token: this.agentToken });
    expect(res.status, await res.clone().text()).toBe(200);
  }

  /** Reports, delivers events and runs due jobs until nothing is left to do. */
  async settle(service = this.service): Promise<void> {
    for (let i = 0; i < 60; i++) {
      if ((await this.versionsOrNone(service)).length) await this.report(service);
      const delivered = await this.server.core.events.dispatch();
      const ran = await this.server.core.jobs.runDue();
      if (delivered === 0 && ran === 0 && this.pendingEvents.length === 0) return;
    }
    throw new Error('background work did not settle');
  }

  /** Moves the fake clock and settles. */
  async advance(ms: number, service = this.service): Promise<void> {
    this.clock.advance(ms);
    await this.settle(service);
  }

  async versions(service = this.service): Promise<VersionView[]> {
    const res = await json<{ items: VersionView[] }>(this.server.request(`/api/v1/services/${service}/versions`));
    return res.body.items;
  }

  private async versionsOrNone(service: string): Promise<VersionView[]> {
    const res = await json<{ items?: VersionView[] }>(this.server.request(`/api/v1/services/${service}/versions`));
    return res.body.items ?? [];
  }

  /** `{version: weight}` of the versions with traffic, and desired instances by version. */
  async split(service = this.service): Promise<{ weights: Record<string, number>; instances: Record<string, number> }> {
    const versions = await this.versions(service);
    return {
      weights: Object.fromEntries(versions.filter((v) => v.weight > 0).map((v) => [v.version, v.weight])),
      instances: Object.fromEntries(versions.map((v) => [v.version, v.desiredInstances])),
    };
  }

  async deploy(version: string, extra: Record<string, unknown> = {}, service = this.service, token?: string) {
    const res = await json<RolloutView & ErrorBody>(
      this.server.request(`/api/v1/services/${service}/deploy`, { method: 'POST', json: { version, ...extra }, token }),
    );
    await this.settle(service);
    return res;
  }

  async act(verb: string, body: Record<string, unknown> = {}, service = this.service, token?: string) {
    const res = await json<RolloutView & ErrorBody>(
      this.server.request(`/api/v1/services/${service}/rollout/${verb}`, { method: 'POST', json: body, token }),
    );
    await this.settle(service);
    return res;
  }

  async rollout(service = this.service): Promise<RolloutView> {
    const res = await json<RolloutView>(this.server.request(`/api/v1/services/${service}/rollout`));
    expect(res.status).toBe(200);
    return res.body;
  }

  async events(types: string, service = this.service): Promise<DomainEvent[]> {
    const res = await json<{ items: DomainEvent[] }>(this.server.request(`/api/v1/events?types=${types}&service=${service}&limit=1000`));
    return res.body.items;
  }
}
