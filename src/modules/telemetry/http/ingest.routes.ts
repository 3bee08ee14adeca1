import type { FastifyReply, FastifyRequest } from 'fastify';
import { validationFailed } from '../../../core/errors.js';
import type { RouteDefinition } from '../../../core/module.js';
import {
  BoundedSeriesCache,
  decodeOtlpMetrics,
  type ExpositionBatch,
  ExpositionError,
  encodeOtlpResponse,
  type ParsedSeries,
  parseExpositionBatch,
} from '../ingest/index.js';
import type { SeriesHandle } from '../store/metric-store.js';
import type { TelemetryService } from '../telemetry.service.js';

/** Pushes may be larger than ordinary API bodies. */
const INGEST_BODY_LIMIT = 16 * 1024 * 1024;

type PushedSeries = ParsedSeries & SeriesHandle;

export function ingestRoutes(telemetry: TelemetryService): RouteDefinition[] {
  // Pushed series by their raw text, across pushes and pushers: known lines skip the label parse
  // and the series lookup (the store's handle stays on the entry).
  const pushed = new BoundedSeriesCache<PushedSeries>((parsed) => ({ ...parsed, ref: undefined }));
  return [
    {
      method: 'POST',
      url: '/api/v1/metrics',
      access: 'responder',
      operationId: 'pushMetrics',
      summary: 'Push samples in Prometheus text format (0.0.4) or OpenMetrics text',
      tags: ['telemetry'],
      bodyLimit: INGEST_BODY_LIMIT,
      async handler(request: FastifyRequest, reply: FastifyReply) {
        if (typeof request.body !== 'string') {
          const message = 'send Prometheus text format with content-type text/plain or application/openmetrics-text';
          throw validationFailed(message, [{ pointer: '', message }]);
        }
        const now = telemetry.now();
        let batch: ExpositionBatch<PushedSeries>;
        try {
          batch = parseExpositionBatch(request.body, pushed, { contentType: request.headers['content-type'] });
        } catch (err) {
          if (err instanceof ExpositionError) {
            throw validationFailed(err.message, [{ pointer: '', message: err.message, line: err.line, column: err.column }]);
          }
          throw err;
        }
        const result = await telemetry.writeBatch(batch, now);
        return reply.status(200).send(result);
      },
    },
    {
      method: 'POST',
      url: '/v1/metrics',
      access: 'responder',
      operationId: 'otlpMetrics',
      summary: 'OTLP/HTTP metrics export (protobuf or JSON)',
      tags: ['telemetry'],
      bodyLimit: INGEST_BODY_LIMIT,
      async handler(request: FastifyRequest, reply: FastifyReply) {
        const type = String(request.headers['content-type'] ?? '');
        const encoding = type.startsWith('application/x-protobuf') ? 'protobuf' : 'json';
        if (encoding === 'json' && !type.startsWith('application/json')) {
          const message = 'OTLP/HTTP takes application/x-protobuf or application/json';
          throw validationFailed(message, [{ pointer: '', message }]);
        }
        let decoded: ReturnType<typeof decodeOtlpMetrics>;
        try {
          decoded = decodeOtlpMetrics(request.body as Buffer | object, encoding);
        } catch (err) {
          const message = `invalid OTLP ${encoding} body: ${(err as Error).message}`;
          throw validationFailed(message, [{ pointer: '', message }]);
        }
        const result = await telemetry.write(decoded.samples);
        const rejected = decoded.rejected + result.rejected;
        const errorMessage = [...decoded.errors, ...result.errors].join('; ');
        const body = encodeOtlpResponse({ rejected, errorMessage }, encoding);
        return reply
          .status(200)
          .header('content-type', encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json')
          .send(body);
      },
    },
  ];
}
