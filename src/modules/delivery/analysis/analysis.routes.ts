import { Type } from '@sinclair/typebox';
import { notFound } from '../../../core/errors.js';
import type { RouteDefinition } from '../../../core/module.js';
import type { DeliveryContext } from '../contracts.js';
import { getRunDetails, runsOfRolloutDetails } from './analysis.service.js';

const TAGS = ['delivery'];
const Id = Type.String({ minLength: 1, maxLength: 100 });

/** Read-only routes: runs with every measurement's Decision, so verdicts can be explained. */
export function analysisRoutes(ctx: DeliveryContext): RouteDefinition[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/analysis-runs/:id',
      access: 'viewer',
      operationId: 'getAnalysisRun',
      summary: 'An analysis run: phase, reason, per-metric counters and every decision with its data',
      tags: TAGS,
      schema: { params: Type.Object({ id: Id }) },
      handler: async (req) => {
        const { id } = req.params as { id: string };
        const run = await getRunDetails(ctx.core.db, id);
        if (!run) throw notFound(`analysis run '${id}' does not exist`, { id });
        return run;
      },
    },
    {
      method: 'GET',
      url: '/api/v1/rollouts/:rolloutId/analysis',
      access: 'viewer',
      operationId: 'listRolloutAnalysisRuns',
      summary: "A rollout's analysis runs, oldest first, each with its decisions",
      tags: TAGS,
      schema: { params: Type.Object({ rolloutId: Id }) },
      handler: async (req) => {
        const { rolloutId } = req.params as { rolloutId: string };
        return { items: await runsOfRolloutDetails(ctx.core.db, rolloutId) };
      },
    },
  ];
}
