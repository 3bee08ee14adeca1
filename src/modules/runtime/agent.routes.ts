import type { ServerResponse } from 'node:http';
import { Type } from '@sinclair/typebox';
import type { AgentReport } from '../../agent/protocol.js';
import { openStream } from '../../core/http/streams.js';
import type { RouteDefinition } from '../../core/module.js';
import { DESIRED_CHANGED, type RuntimeContext } from './context.js';
import { snapshotDesiredState } from './desired-state.js';
import { ingestReport } from './reports.js';
import { AgentReportBody } from './runtime.schema.js';
import { getRevision } from './runtime.store.js';

const REPORT_BODY_LIMIT = 4 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;

/** The data plane's routes: only agent tokens (and admin) may call them. */
export function agentRoutes(ctx: RuntimeContext): RouteDefinition[] {
  const { core } = ctx;
  return [
    {
      method: 'GET',
      url: '/api/v1/agent/desired-state',
      access: 'agent',
      operationId: 'getDesiredState',
      summary: 'What the agents should run; 204 when not newer than `ifNewerThan`',
      tags: ['runtime', 'agent'],
      schema: {
        querystring: Type.Object({ ifNewerThan: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
      },
      handler: async (req, reply) => {
        const { ifNewerThan } = req.query as { ifNewerThan?: number };
        if (ifNewerThan !== undefined && (await getRevision(core.db)) <= ifNewerThan) return reply.status(204).send();
        return snapshotDesiredState(ctx);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/agent/report',
      access: 'agent',
      operationId: 'postAgentReport',
      summary: 'An agent reports instance and version status, events, traffic and executed actions',
      tags: ['runtime', 'agent'],
      bodyLimit: REPORT_BODY_LIMIT,
      schema: { body: AgentReportBody },
      handler: async (req) => {
        const report = req.body as AgentReport;
        if (req.actor.role === 'agent') {
          const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
          if (token) ctx.agentTokens.set(report.agentId, token);
        }
        return ingestReport(ctx, report, req.actor);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/agent/watch',
      access: 'agent',
      operationId: 'watchDesiredState',
      summary: `Server-Sent Events: one '${DESIRED_CHANGED}' message per desired-state revision; refetch on each`,
      tags: ['runtime', 'agent'],
      handler: async (req, reply) => {
        let res: ServerResponse | undefined;
        const unlisten = core.events.listen((e) => {
          if (e.type === DESIRED_CHANGED) res?.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`);
        });
        const heartbeat = setInterval(() => res?.write(': keep-alive\n\n'), HEARTBEAT_MS);
        heartbeat.unref();
        res = openStream(req, reply, 'text/event-stream; charset=utf-8', () => {
          unlisten();
          clearInterval(heartbeat);
        });
        res.write(': connected\n\n');
      },
    },
  ];
}
