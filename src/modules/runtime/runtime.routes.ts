import { Type } from '@sinclair/typebox';
import type { FaultKind } from '../../agent/protocol.js';
import { validationFailed } from '../../core/errors.js';
import { relay } from '../../core/http/streams.js';
import type { RouteDefinition } from '../../core/module.js';
import { parseDuration } from '../../core/resources/formats.js';
import { killInstances } from './actions.js';
import type { RuntimeContext } from './context.js';
import { addFault, clearFaults, listFaults } from './faults.js';
import { type LogsQuery, logLines, openLogs } from './logs.js';
import { createRelease, listServiceReleases } from './releases.js';
import { CreateReleaseBody, FaultBody, KillBody, MirrorBody, ScaleBody, ServiceParams, WeightsBody } from './runtime.schema.js';
import { serviceStats, TRAFFIC_RETENTION_MS } from './stats.js';
import { type Mirror, scale, setMirror, setWeights } from './traffic.js';
import { listInstances, listVersions } from './views.js';

const nameOf = (req: { params: unknown }) => (req.params as { name: string }).name;
const TAGS = ['runtime'];

/** `60s`, `5m`, `1h` → ms, at most the traffic retention; 400 naming `window` otherwise. */
export function windowMs(text: string | undefined): number {
  const ms = parseDuration(text ?? '60s');
  if (ms === undefined || ms < 1000 || ms > TRAFFIC_RETENTION_MS) {
    const message = `must be a duration from 1s to 24h such as '60s' or '5m' (got '${text}')`;
    throw validationFailed(`window ${message}`, [{ pointer: '/window', message }]);
  }
  return ms;
}

/** Routes under /api/v1/services/{name}: releases, traffic, scale, instances, stats, faults, logs. */
export function runtimeRoutes(ctx: RuntimeContext): RouteDefinition[] {
  const params = ServiceParams;
  const base = '/api/v1/services/:name';
  return [
    {
      method: 'POST',
      url: `${base}/releases`,
      access: 'deployer',
      operationId: 'createRelease',
      summary: 'Create a release (version) of a service: overrides of its runtime spec; runs nothing until scaled',
      tags: TAGS,
      schema: { params, body: CreateReleaseBody },
      handler: async (req, reply) => {
        const body = req.body as CreateReleaseBody;
        return reply.status(201).send(await createRelease(ctx, { ...body, service: nameOf(req), actor: req.actor }));
      },
    },
    {
      method: 'GET',
      url: `${base}/releases`,
      access: 'viewer',
      operationId: 'listReleases',
      summary: 'Releases of a service, oldest first',
      tags: TAGS,
      schema: { params },
      handler: async (req) => ({ items: await listServiceReleases(ctx, nameOf(req)) }),
    },
    {
      method: 'GET',
      url: `${base}/versions`,
      access: 'viewer',
      operationId: 'listVersions',
      summary: 'Versions with traffic weight, desired and ready instances and health',
      tags: TAGS,
      schema: { params },
      handler: async (req) => ({ items: await listVersions(ctx, nameOf(req)) }),
    },
    {
      method: 'PUT',
      url: `${base}/traffic`,
      access: 'deployer',
      operationId: 'setTrafficWeights',
      summary: 'Replace the traffic split: percent per version, 0.1 precision, summing to 100',
      tags: TAGS,
      schema: { params, body: WeightsBody },
      handler: async (req) => {
        const { weights } = req.body as { weights: Record<string, number> };
        return { items: await setWeights(ctx, nameOf(req), weights, req.actor) };
      },
    },
    {
      method: 'POST',
      url: `${base}/scale`,
      access: 'deployer',
      operationId: 'scaleVersion',
      summary: "Set a version's instance count (default: the version with the most traffic)",
      tags: TAGS,
      schema: { params, body: ScaleBody },
      handler: async (req) => {
        const body = req.body as { instances: number; version?: string };
        return { items: await scale(ctx, { service: nameOf(req), ...body, actor: req.actor }) };
      },
    },
    {
      method: 'POST',
      url: `${base}/mirror`,
      access: 'deployer',
      operationId: 'setMirror',
      summary: 'Mirror a percentage of requests to a version (responses discarded); null stops it',
      tags: TAGS,
      schema: { params, body: MirrorBody },
      handler: async (req) => ({ mirror: await setMirror(ctx, nameOf(req), req.body as Mirror | null, req.actor) }),
    },
    {
      method: 'GET',
      url: `${base}/instances`,
      access: 'viewer',
      operationId: 'listInstances',
      summary: 'Instances as the agents last reported them',
      tags: TAGS,
      schema: { params },
      handler: async (req) => ({ items: await listInstances(ctx, nameOf(req)) }),
    },
    {
      method: 'POST',
      url: `${base}/instances/kill`,
      access: 'deployer',
      operationId: 'killInstances',
      summary: 'Ask the agent to SIGKILL instances once (they are replaced like crashed ones)',
      tags: TAGS,
      schema: { params, body: KillBody },
      handler: async (req, reply) => {
        const body = req.body as { count: number; version?: string };
        return reply.status(201).send(await killInstances(ctx, { service: nameOf(req), ...body, actor: req.actor }));
      },
    },
    {
      method: 'GET',
      url: `${base}/stats`,
      access: 'viewer',
      operationId: 'serviceStats',
      summary: 'Per-version request rate, error ratio and latency quantiles over a window (default 60s)',
      tags: TAGS,
      schema: {
        params,
        querystring: Type.Object({ window: Type.Optional(Type.String({ maxLength: 32 })) }, { additionalProperties: false }),
      },
      handler: async (req) => serviceStats(ctx, nameOf(req), windowMs((req.query as { window?: string }).window)),
    },
    {
      method: 'POST',
      url: `${base}/faults`,
      access: 'deployer',
      operationId: 'addFault',
      summary: "Inject latency, an error status or aborted connections into a share of a service's requests for a TTL",
      tags: TAGS,
      schema: { params, body: FaultBody },
      handler: async (req, reply) => {
        const { ttlSeconds, ...body } = req.body as FaultBody;
        const fault = await addFault(ctx, {
          ...body,
          kind: body.kind as FaultKind,
          ttlMs: ttlSeconds * 1000,
          service: nameOf(req),
          actor: req.actor,
        });
        return reply.status(201).send(fault);
      },
    },
    {
      method: 'GET',
      url: `${base}/faults`,
      access: 'viewer',
      operationId: 'listFaults',
      summary: 'Active faults of a service',
      tags: TAGS,
      schema: { params },
      handler: async (req) => ({ items: await listFaults(ctx, nameOf(req)) }),
    },
    {
      method: 'DELETE',
      url: `${base}/faults`,
      access: 'deployer',
      operationId: 'clearFaults',
      summary: 'Remove every active fault of a service',
      tags: TAGS,
      schema: { params },
      handler: async (req) => ({ items: await clearFaults(ctx, { service: nameOf(req), actor: req.actor }) }),
    },
    {
      method: 'DELETE',
      url: `${base}/faults/:id`,
      access: 'deployer',
      operationId: 'clearFault',
      summary: 'Remove one active fault',
      tags: TAGS,
      schema: { params: Type.Object({ name: Type.String({ maxLength: 63 }), id: Type.String({ maxLength: 64 }) }) },
      handler: async (req) => {
        const { name, id } = req.params as { name: string; id: string };
        return { items: await clearFaults(ctx, { service: name, id, actor: req.actor }) };
      },
    },
    {
      method: 'GET',
      url: `${base}/logs`,
      access: 'viewer',
      operationId: 'serviceLogs',
      summary: 'Instance output from the agent running the service; `follow=true` streams NDJSON',
      tags: TAGS,
      schema: {
        params,
        querystring: Type.Object(
          {
            version: Type.Optional(Type.String({ maxLength: 64 })),
            instance: Type.Optional(Type.String({ maxLength: 256 })),
            since: Type.Optional(Type.Integer({ minimum: 0 })),
            afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
            follow: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
      handler: async (req, reply) => {
        const query = req.query as LogsQuery;
        const controller = new AbortController();
        reply.raw.on('close', () => controller.abort());
        const res = await openLogs(ctx, nameOf(req), query, controller.signal);
        if (!query.follow || !res.body) return logLines(res);
        await relay(req, reply, res.body, 'application/x-ndjson; charset=utf-8');
      },
    },
  ];
}
