import { vi } from 'vitest';
import type { AgentReport, DesiredState } from '../../agent/protocol.js';
import type { TestServer } from '../../testing/server.js';

// Shared by the runtime tests: a team, services with runtime sections, tokens per role, and
// waiting for the durable subscriber to have synced an apply.

export const TEAM = { apiVersion: 'opsdeck.dev/v1', kind: 'Team', metadata: { name: 'core' }, spec: { members: [] } };

export function serviceDoc(
  name: string,
  runtime: Record<string, unknown> | undefined,
  annotations?: Record<string, string>,
): Record<string, unknown> {
  return {
    apiVersion: 'opsdeck.dev/v1',
    kind: 'Service',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { owner: 'core', ...(runtime ? { runtime } : {}) },
  };
}

export const feedRuntime = (extra: Record<string, unknown> = {}) => ({
  kind: 'process',
  command: 'node',
  args: ['server.js'],
  cwd: 'examples/feed-app',
  env: { LOG_LEVEL: 'info' },
  instances: 2,
  port: 18080,
  ...extra,
});

export async function json<T>(res: Response | Promise<Response>): Promise<{ status: number; body: T }> {
  const r = await res;
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function apply(server: TestServer, ...documents: unknown[]): Promise<Response> {
  return server.request('/api/v1/resources/apply', { method: 'POST', json: { documents } });
}

export async function createToken(server: TestServer, name: string, role: string): Promise<string> {
  const { status, body } = await json<{ token: string }>(server.request('/api/v1/tokens', { method: 'POST', json: { name, role } }));
  if (status !== 201) throw new Error(`token ${name}: ${status}`);
  return body.token;
}

/** Waits until the subscriber has synced: the service's releases are there. */
export async function synced(server: TestServer, service: string, versions = 1): Promise<void> {
  await vi.waitFor(
    async () => {
      await server.core.events.dispatch();
      const { body } = await json<{ items: unknown[] }>(server.request(`/api/v1/services/${service}/releases`));
      if ((body.items?.length ?? 0) < versions) throw new Error(`${service} not synced yet`);
    },
    { timeout: 10_000, interval: 20 },
  );
}

/** Waits for the desired-state revision to move past `after` (subscriber work is asynchronous). */
export async function revisionAfter(server: TestServer, after: number, token?: string): Promise<DesiredState> {
  let state: DesiredState | undefined;
  await vi.waitFor(
    async () => {
      await server.core.events.dispatch();
      const res = await server.request(`/api/v1/agent/desired-state?ifNewerThan=${after}`, { token });
      if (res.status !== 200) throw new Error(`revision still ${after}`);
      state = (await res.json()) as DesiredState;
    },
    { timeout: 10_000, interval: 20 },
  );
  return state!;
}

export async function desired(server: TestServer, token?: string): Promise<DesiredState> {
  return (await json<DesiredState>(server.request('/api/v1/agent/desired-state', { token }))).body;
}

export function report(partial: Partial<AgentReport> = {}): AgentReport {
  return {
    agentId: 'agent-1',
    agentUrl: 'http://127.0.0.1:1',
    appliedRevision: 0,
    at: Date.UTC(2026, 0, 1),
    instances: [],
    versions: [],
    events: [],
    traffic: [],
    actionsDone: [],
    ...partial,
  };
}

export async function postReport(server: TestServer, body: AgentReport, token?: string) {
  return json<{ ok: boolean; revision: number; error?: { message: string; details?: unknown } }>(
    server.request('/api/v1/agent/report', { method: 'POST', json: body, token }),
  );
}
