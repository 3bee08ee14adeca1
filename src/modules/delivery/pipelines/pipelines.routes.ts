import { notFound } from '../../../core/errors.js';
import type { RouteDefinition } from '../../../core/module.js';
import type { PipelinesContext } from './context.js';
import { approveRun, cancelRun, loadRunView, requireRun, runView, startRun } from './engine.js';
import {
  CancelBody,
  ListRunsQuery,
  LogsQuery,
  RunParams,
  ServiceParams,
  type StartRunBody,
  StartRunBody as StartRunBodySchema,
} from './pipelines.schema.js';
import { getStages, listRuns, readLogs } from './pipelines.store.js';

const TAGS = ['delivery'];
const idOf = (req: { params: unknown }) => (req.params as { id: string }).id;

/** Pipeline runs: start, list, show, logs, approve, cancel. */
export function pipelinesRoutes(p: PipelinesContext): RouteDefinition[] {
  const { core, catalog } = p.delivery;
  return [
    {
      method: 'POST',
      url: '/api/v1/services/:name/pipeline-runs',
      access: 'deployer',
      operationId: 'startPipelineRun',
      summary: 'Run a version of a service through its pipeline (spec.delivery.pipeline, or `pipeline` in the body)',
      tags: TAGS,
      bodyLimit: 16 * 1024,
      schema: { params: ServiceParams, body: StartRunBodySchema },
      handler: async (req, reply) => {
        const body = req.body as StartRunBody;
        const view = await startRun(p, { ...body, service: (req.params as { name: string }).name, actor: req.actor });
        return reply.status(201).send(view);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/services/:name/pipeline-runs',
      access: 'viewer',
      operationId: 'listPipelineRuns',
      summary: 'Pipeline runs of a service, newest first',
      tags: TAGS,
      schema: { params: ServiceParams, querystring: ListRunsQuery },
      handler: async (req) => {
        const service = (req.params as { name: string }).name;
        if (!(await catalog.getService(service))) throw notFound(`Service '${service}' does not exist`, { service });
        const runs = await listRuns(core.db, service, (req.query as { limit?: number }).limit ?? 50);
        const items = [];
        for (const run of runs) items.push(runView(run, await getStages(core.db, run.id)));
        return { items };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/pipeline-runs/:id',
      access: 'viewer',
      operationId: 'getPipelineRun',
      summary: 'A pipeline run with its stages',
      tags: TAGS,
      schema: { params: RunParams },
      handler: async (req) => loadRunView(p, idOf(req)),
    },
    {
      method: 'GET',
      url: '/api/v1/pipeline-runs/:id/logs',
      access: 'viewer',
      operationId: 'getPipelineRunLogs',
      summary: 'Captured output of a run (or one ?stage=), in order; page with afterSeq',
      tags: TAGS,
      schema: { params: RunParams, querystring: LogsQuery },
      handler: async (req) => {
        const id = idOf(req);
        await requireRun(p, id);
        const q = req.query as { stage?: string; afterSeq?: number; limit?: number };
        const stages = await getStages(core.db, id);
        let idx: number | undefined;
        if (q.stage !== undefined) {
          idx = stages.find((s) => s.name === q.stage)?.idx;
          if (idx === undefined) {
            throw notFound(`run ${id} has no stage '${q.stage}'; its stages: ${stages.map((s) => s.name).join(', ')}`, {
              stage: q.stage,
              stages: stages.map((s) => s.name),
            });
          }
        }
        const lines = await readLogs(core.db, id, { idx, afterSeq: q.afterSeq, limit: q.limit ?? 1000 });
        return { items: lines.map((l) => ({ ...l, stage: stages[l.index]?.name ?? String(l.index) })) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/pipeline-runs/:id/approve',
      // The stage names the role it needs; the route admits anyone and checks it.
      access: 'viewer',
      operationId: 'approvePipelineRun',
      summary: "Approve the approval stage a run waits at (needs the stage's role, default deployer)",
      tags: TAGS,
      schema: { params: RunParams },
      handler: async (req) => approveRun(p, idOf(req), req.actor),
    },
    {
      method: 'POST',
      url: '/api/v1/pipeline-runs/:id/cancel',
      access: 'deployer',
      operationId: 'cancelPipelineRun',
      summary: 'Cancel a run: a running command is killed, a staging copy scaled down; a started rollout is not aborted',
      tags: TAGS,
      bodyLimit: 8 * 1024,
      schema: { params: RunParams, body: CancelBody },
      handler: async (req) => cancelRun(p, idOf(req), req.actor, (req.body as { reason?: string } | undefined)?.reason),
    },
  ];
}
