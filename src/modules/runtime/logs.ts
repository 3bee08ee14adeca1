import { ExponentialBackoff, handleAll, retry, TimeoutStrategy, timeout, wrap } from 'cockatiel';
import { AppError } from '../../core/errors.js';
import { type AgentRecord, listAgents } from './agents.store.js';
import { type RuntimeContext, requireService } from './context.js';
import { AGENT_FRESH_MS } from './views.js';

export interface LogsQuery {
  version?: string;
  instance?: string;
  /** Epoch ms: lines at or after this time. */
  since?: number;
  afterSeq?: number;
  limit?: number;
  /** Keep the response open and stream new lines (NDJSON). */
  follow?: boolean;
}

const unavailable = (message: string) => new AppError(503, 'agent_unavailable', message);

/** How long the agent may take to answer (headers); a followed stream then lasts as long as both sides want. */
const CONNECT_TIMEOUT_MS = 5_000;
const policy = wrap(
  retry(handleAll, { maxAttempts: 1, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 500 }) }),
  timeout(CONNECT_TIMEOUT_MS, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false }),
);

/**
 * The one request the control plane makes to an agent's API for logs. The agent must serve
 * `GET {agentUrl}/logs?service=&version=&instance=&since=&afterSeq=&limit=&follow=true`, accept
 * `Authorization: Bearer <its own agent token>`, and answer `{ items: LogLine[] }`, or with
 * `follow=true` an `application/x-ndjson` stream of LogLine objects (blank lines as keep-alives).
 */
export function agentLogsRequest(
  agentUrl: string,
  token: string,
  service: string,
  query: LogsQuery,
  signal: AbortSignal,
): Promise<Response> {
  const url = new URL('logs', agentUrl.endsWith('/') ? agentUrl : `${agentUrl}/`);
  url.searchParams.set('service', service);
  for (const key of ['version', 'instance', 'since', 'afterSeq', 'limit'] as const) {
    if (query[key] !== undefined) url.searchParams.set(key, String(query[key]));
  }
  if (query.follow) url.searchParams.set('follow', 'true');
  return policy.execute(
    ({ signal: attempt }) =>
      fetch(url, {
        headers: { authorization: `Bearer ${token}`, accept: query.follow ? 'application/x-ndjson' : 'application/json' },
        signal: attempt,
      }),
    signal,
  );
}

/** The freshest agent running the service (else the freshest agent), with the token to call it. */
export async function agentFor(ctx: RuntimeContext, service: string): Promise<{ agent: AgentRecord; token: string }> {
  const now = ctx.core.clock.now();
  const fresh = await listAgents(ctx.core.db, now - AGENT_FRESH_MS);
  const agent = fresh.find((a) => a.instances.some((i) => i.service === service)) ?? fresh[0];
  if (!agent) {
    throw unavailable(
      `no agent has reported in the last ${AGENT_FRESH_MS / 1000} s, so there is nowhere to read logs from (is the agent running?)`,
    );
  }
  const token = ctx.agentTokens.get(agent.agentId);
  if (!token) {
    throw unavailable(`agent '${agent.agentId}' has not reported to this server process since it started; retry in a few seconds`);
  }
  return { agent, token };
}

/** The lines of a non-following answer; an agent answering something else is a 502, not our 500. */
export async function logLines(res: Response): Promise<{ items: unknown[] }> {
  const body = (await res.json().catch(() => undefined)) as { items?: unknown } | undefined;
  if (!Array.isArray(body?.items))
    throw new AppError(502, 'agent_error', 'the agent answered logs with something other than {items: [...]}');
  return { items: body.items };
}

/** Opens the agent's logs for a service; errors become 404/503/502 naming the problem. */
export async function openLogs(ctx: RuntimeContext, service: string, query: LogsQuery, signal: AbortSignal): Promise<Response> {
  await requireService(ctx, service);
  const { agent, token } = await agentFor(ctx, service);
  let res: Response;
  try {
    res = await agentLogsRequest(agent.agentUrl, token, service, query, signal);
  } catch (err) {
    throw unavailable(`agent '${agent.agentId}' at ${agent.agentUrl} did not answer: ${(err as Error).message}`);
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let message = text.slice(0, 500);
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {}
    throw new AppError(502, 'agent_error', `agent '${agent.agentId}' answered ${res.status}: ${message}`);
  }
  return res;
}
