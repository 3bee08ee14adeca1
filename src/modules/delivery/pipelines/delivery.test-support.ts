import { Readable } from 'node:stream';
import { vi } from 'vitest';
import type { AgentReport } from '../../../agent/protocol.js';
import { run } from '../../../cli/program.js';
import type { FakeClock } from '../../../core/clock.js';
import { startTestServer, type TestServer } from '../../../testing/server.js';
import { catalogModule } from '../../catalog/index.js';
import { runtimeModule, type VersionView } from '../../runtime/index.js';
import { telemetryModule } from '../../telemetry/index.js';
import { type DeliveryApi, deliveryModule } from '../index.js';

// Shared by the freezes, pipelines and DORA tests: a server with catalog, runtime and the whole
// delivery module (rollouts included) on a fake clock, a scripted agent, and small helpers.

export const TEAM = { apiVersion: 'opsdeck.dev/v1', kind: 'Team', metadata: { name: 'core' }, spec: { members: [] } };

export function serviceDoc(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'opsdeck.dev/v1', kind: 'Service', metadata: { name }, spec: { owner: 'core', ...spec } };
}

export function doc(kind: string, name: string, spec: unknown): Record<string, unknown> {
  return { apiVersion: 'opsdeck.dev/v1', kind, metadata: { name }, spec };
}

/** A canary that needs no traffic: half, then (with `hold`) a pause until promoted, then all. */
export function canary(hold = false): Record<string, unknown> {
  return { canary: { steps: [{ setWeight: 50 }, ...(hold ? [{ pause: {} }] : [])], analysis: 'none' } };
}

export async function startDeliveryServer(options: {
  dialect: 'sqlite' | 'postgres';
  clock?: FakeClock;
  store?: TestServer['store'];
}): Promise<TestServer> {
  return startTestServer({
    dialect: options.dialect,
    clock: options.clock,
    store: options.store,
    modules: [catalogModule, runtimeModule, telemetryModule, deliveryModule],
  });
}

export const deliveryApi = (server: TestServer) => server.modules.delivery as DeliveryApi;

/**
 * Plays the agent for the rollout engine: reports every version of `service` that should run as
 * ready and healthy (announcing newly ready ones), so rollouts that need no traffic progress.
 */
export class ScriptedAgent {
  private seq = 0;
  private ready = new Map<string, number>();

  constructor(
    private readonly server: TestServer,
    private readonly clock: FakeClock,
    readonly token: string,
  ) {}

  static async create(server: TestServer, clock: FakeClock, name = 'agent-1'): Promise<ScriptedAgent> {
    return new ScriptedAgent(server, clock, await createToken(server, name, 'agent'));
  }

  async report(service: string): Promise<void> {
    const res = await this.server.request(`/api/v1/services/${service}/versions`);
    if (res.status !== 200) return;
    const versions = ((await res.json()) as { items: VersionView[] }).items.filter((v) => v.desiredInstances > 0);
    const now = this.clock.now();
    const events: AgentReport['events'] = [];
    // A version scaled to zero is not ready any more: when it comes back it says so again.
    for (const key of this.ready.keys()) {
      if (key.startsWith(`${service}@`) && !versions.some((v) => key === `${service}@${v.version}`)) this.ready.delete(key);
    }
    for (const v of versions) {
      const key = `${service}@${v.version}`;
      if (v.desiredInstances > (this.ready.get(key) ?? 0)) {
        events.push({ id: `e${++this.seq}`, type: 'instance.ready', at: now, service, version: v.version });
      }
      this.ready.set(key, v.desiredInstances);
    }
    const report: AgentReport = {
      agentId: 'agent-1',
      agentUrl: 'http://127.0.0.1:1',
      appliedRevision: 0,
      at: now,
      instances: [],
      versions: versions.map((v) => ({
        service,
        version: v.version,
        health: 'healthy',
        ready: v.desiredInstances,
        desired: v.desiredInstances,
      })),
      events,
      traffic: [],
      actionsDone: [],
    };
    const posted = await this.server.request('/api/v1/agent/report', { method: 'POST', json: report, token: this.token });
    if (posted.status !== 200) throw new Error(`agent report: ${posted.status} ${await posted.text()}`);
  }
}

export async function json<T>(res: Response | Promise<Response>): Promise<{ status: number; body: T }> {
  const r = await res;
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function apply(server: TestServer, ...documents: unknown[]): Promise<void> {
  const res = await server.request('/api/v1/resources/apply', { method: 'POST', json: { documents } });
  if (res.status !== 200) throw new Error(`apply failed: ${res.status} ${await res.text()}`);
}

export async function createToken(server: TestServer, name: string, role: string): Promise<string> {
  const { status, body } = await json<{ token: string }>(server.request('/api/v1/tokens', { method: 'POST', json: { name, role } }));
  if (status !== 201) throw new Error(`token ${name}: ${status}`);
  return body.token;
}

/**
 * Runs due jobs and delivers events until `check` holds (background work is asynchronous); with
 * `agent`, the scripted agent reports on `service` each round so rollouts can progress.
 */
export async function until<T>(
  server: TestServer,
  what: string,
  check: () => Promise<T | undefined | false>,
  options: { agent?: ScriptedAgent; service?: string; timeout?: number } = {},
): Promise<T> {
  let value: T | undefined | false;
  await vi.waitFor(
    async () => {
      if (options.agent && options.service) await options.agent.report(options.service);
      await server.core.events.dispatch();
      await server.core.jobs.runDue();
      value = await check();
      if (!value) throw new Error(`still waiting for ${what}`);
    },
    { timeout: options.timeout ?? 15_000, interval: 25 },
  );
  return value as T;
}

/**
 * Keeps running due jobs and delivering events in the background, for tests where a job blocks
 * (a command that runs until the fake clock times it out) and `until` would wait on it.
 */
export function driveJobs(server: TestServer): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await server.core.jobs.runDue();
        await server.core.events.dispatch();
      } catch {
        // The server is shutting down under the test; the loop ends with stop().
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    /** Stops driving; resolves once a job the loop is running has returned. */
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Closes a server the way a deploy restarts it, moving the fake clock so its shutdown grace can pass. */
export async function closeServer(server: TestServer, clock: FakeClock): Promise<void> {
  let closed = false;
  const closing = server.close(1_000).then(() => {
    closed = true;
  });
  while (!closed) {
    clock.advance(250);
    await new Promise((r) => setTimeout(r, 20));
  }
  await closing;
}

/** The CLI in-process against `env` (a test server's, or a port nothing listens on). */
export async function runCli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'opsdeck', ...args], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
    cwd: process.cwd(),
    stdin: Readable.from([]),
  });
  return { code, stdout, stderr };
}
