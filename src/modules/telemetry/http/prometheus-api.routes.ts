import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDefinition } from '../../../core/module.js';
import type { LabelMatcher } from '../contracts.js';
import { PromqlRuntimeError, PromqlSyntaxError, UnsupportedPromqlError } from '../promql/index.js';
import { ProviderError } from '../providers/prometheus-client.js';
import type { TelemetryService } from '../telemetry.service.js';
import { PromParamError, parsePromDuration, parsePromTime, promParams } from './prom-params.js';
import { parseSeriesSelector } from './series-selector.js';

// Prometheus' HTTP API, same paths and JSON shapes, so Grafana (and anything speaking to
// Prometheus) can use opsdeck as a Prometheus data source. Errors use Prometheus' shape here:
// {status: "error", errorType, error}, which is what those clients read.

/** Most points a range query may return per series, as Prometheus limits it. */
const MAX_POINTS = 11_000;

function fail(reply: FastifyReply, status: number, errorType: string, error: string) {
  return reply.status(status).send({ status: 'error', errorType, error });
}

/** Maps what a query can throw to Prometheus' status codes and error types. */
function queryFailure(reply: FastifyReply, err: unknown) {
  if (err instanceof PromParamError) return fail(reply, 400, 'bad_data', err.message);
  if (err instanceof PromqlSyntaxError) return fail(reply, 400, 'bad_data', err.message);
  if (err instanceof UnsupportedPromqlError) return fail(reply, 400, 'bad_data', err.message);
  if (err instanceof ProviderError) return fail(reply, err.status, err.errorType, err.message);
  if (err instanceof Error && (err as { code?: string }).code === 'not_found') return fail(reply, 400, 'bad_data', err.message);
  if (err instanceof PromqlRuntimeError) return fail(reply, 422, 'execution', err.message);
  throw err;
}

function one(params: Map<string, string[]>, name: string): string | undefined {
  return params.get(name)?.at(-1);
}

function required(params: Map<string, string[]>, name: string): string {
  const v = one(params, name);
  if (v === undefined || v === '') throw new PromParamError(name, `invalid parameter "${name}": missing`);
  return v;
}

function matcherSets(params: Map<string, string[]>): LabelMatcher[][] {
  return (params.get('match[]') ?? []).map((text) => {
    try {
      return parseSeriesSelector(text);
    } catch (err) {
      throw new PromParamError('match[]', `invalid parameter "match[]": ${(err as Error).message}`);
    }
  });
}

export function prometheusApiRoutes(telemetry: TelemetryService): RouteDefinition[] {
  const params = (request: FastifyRequest) => promParams(request.query, request.body);

  const instant = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const p = params(request);
      const query = required(p, 'query');
      const time = one(p, 'time');
      const data = await telemetry.query({
        query,
        time: time === undefined ? telemetry.now() : parsePromTime('time', time),
        provider: one(p, 'provider'),
      });
      return { status: 'success', data };
    } catch (err) {
      return queryFailure(reply, err);
    }
  };

  const range = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const p = params(request);
      const query = required(p, 'query');
      const start = parsePromTime('start', required(p, 'start'));
      const end = parsePromTime('end', required(p, 'end'));
      const step = parsePromDuration('step', required(p, 'step'));
      if (end < start) throw new PromParamError('end', 'invalid parameter "end": end timestamp must not be before start time');
      if (step <= 0)
        throw new PromParamError('step', 'invalid parameter "step": zero or negative query resolution step widths are not accepted');
      if ((end - start) / step > MAX_POINTS) {
        throw new PromParamError(
          'step',
          'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
        );
      }
      const data = await telemetry.queryRange({ query, start, end, step, provider: one(p, 'provider') });
      return { status: 'success', data };
    } catch (err) {
      return queryFailure(reply, err);
    }
  };

  const labelsHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      return { status: 'success', data: await telemetry.store.labelNames(matcherSets(params(request))) };
    } catch (err) {
      return queryFailure(reply, err);
    }
  };

  const base = { access: 'viewer' as const, tags: ['telemetry'] };
  return [
    {
      ...base,
      method: ['GET', 'POST'],
      url: '/api/v1/query',
      operationId: 'promQuery',
      summary: 'PromQL instant query (Prometheus API)',
      handler: instant,
    },
    {
      ...base,
      method: ['GET', 'POST'],
      url: '/api/v1/query_range',
      operationId: 'promQueryRange',
      summary: 'PromQL range query (Prometheus API)',
      handler: range,
    },
    { ...base, method: ['GET', 'POST'], url: '/api/v1/labels', operationId: 'promLabels', summary: 'Label names', handler: labelsHandler },
    {
      ...base,
      method: 'GET',
      url: '/api/v1/label/:name/values',
      operationId: 'promLabelValues',
      summary: 'Values of one label',
      async handler(request, reply) {
        try {
          const { name } = request.params as { name: string };
          return { status: 'success', data: await telemetry.store.labelValues(name, matcherSets(params(request))) };
        } catch (err) {
          return queryFailure(reply, err);
        }
      },
    },
    {
      ...base,
      method: ['GET', 'POST'],
      url: '/api/v1/series',
      operationId: 'promSeries',
      summary: 'Series matching selectors',
      async handler(request, reply) {
        try {
          const sets = matcherSets(params(request));
          if (!sets.length) throw new PromParamError('match[]', 'no match[] parameter provided');
          return { status: 'success', data: await telemetry.store.series(sets) };
        } catch (err) {
          return queryFailure(reply, err);
        }
      },
    },
    {
      ...base,
      method: 'GET',
      url: '/api/v1/metadata',
      operationId: 'promMetadata',
      summary: 'Metric metadata (empty: the built-in store keeps none)',
      handler: async () => ({ status: 'success', data: {} }),
    },
    {
      ...base,
      method: 'GET',
      url: '/api/v1/status/buildinfo',
      operationId: 'promBuildInfo',
      summary: 'Build information, as Prometheus reports it (Grafana reads it)',
      handler: async () => ({
        status: 'success',
        data: { version: '2.53.0', revision: 'opsdeck', branch: 'opsdeck', application: 'opsdeck' },
      }),
    },
  ];
}
