import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { Histogram, type Registry } from 'prom-client';
import { roleAtLeast } from '../auth/roles.js';
import { AppError, forbidden, notFound, unauthorized } from '../errors.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Core, RouteDefinition } from '../module.js';
import { errorHandler } from './errors.js';
import { installLongLived } from './streams.js';

export interface HttpOptions {
  core: Core;
  logger: Logger;
  metrics: Registry;
  bodyLimit: number;
  version: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The Fastify instance: request ids, the auth hook (every route declares `access`), the uniform
 * error body, request metrics and the OpenAPI document built from the route schemas.
 */
export async function createHttpServer(options: HttpOptions): Promise<{ app: FastifyInstance; route: (def: RouteDefinition) => void }> {
  const { core, logger } = options;
  const app: FastifyInstance = Fastify({
    loggerInstance: logger.child({ module: 'http' }) as FastifyBaseLogger,
    // Per-request info lines would drown the log; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId('req');
    },
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });

  // Raw text bodies (YAML manifests, Prometheus exposition) reach handlers as strings.
  app.addContentTypeParser(
    ['text/plain', 'application/yaml', 'application/x-yaml', 'text/yaml'],
    { parseAs: 'string', bodyLimit: options.bodyLimit },
    (_req, body, done) => done(null, body),
  );
  // OpenMetrics text is text too; OTLP protobuf reaches its handler as bytes.
  app.addContentTypeParser('application/openmetrics-text', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_req, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_req, body, done) =>
    done(null, body),
  );
  // Prometheus' HTTP API (and Grafana) POST queries as forms.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const duration = new Histogram({
    name: 'opsdeck_http_request_duration_seconds',
    help: 'HTTP request latency by route template, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [options.metrics],
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public') return;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw unauthorized('this route needs a bearer token (Authorization: Bearer <token>)');
    const actor = await core.auth.authenticate(match[1]);
    if (!actor) throw unauthorized('the bearer token is unknown or revoked');
    if (!roleAtLeast(actor.role, access)) {
      throw forbidden(`this needs the ${access} role or higher; token '${actor.name}' has ${actor.role}`);
    }
    request.actor = actor;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ route, method: request.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  installLongLived(app);
  app.setErrorHandler(errorHandler(logger.child({ module: 'http' })));
  app.setNotFoundHandler((request, reply) => {
    const err = notFound(`no route ${request.method} ${request.url.split('?')[0]}`);
    return reply.status(404).send(err.toBody());
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'opsdeck API', version: options.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  const operationIds = new Set<string>();
  const route = (def: RouteDefinition) => {
    if (!def.access) throw new Error(`route ${def.method} ${def.url} does not declare its access`);
    if (operationIds.has(def.operationId)) throw new Error(`duplicate operationId ${def.operationId}`);
    operationIds.add(def.operationId);
    app.route({
      method: def.method,
      url: def.url,
      bodyLimit: def.bodyLimit,
      config: { access: def.access },
      schema: {
        ...def.schema,
        operationId: def.operationId,
        summary: def.summary,
        tags: def.tags,
        ...(def.access === 'public' ? { security: [] } : { security: [{ bearer: [] }] }),
        ...(def.access === 'public' ? {} : { description: `Requires the ${def.access} role or higher.` }),
      },
      handler: def.handler,
    });
  };

  route({
    method: 'GET',
    url: '/api/v1/openapi.json',
    access: 'public',
    operationId: 'getOpenApi',
    summary: 'This OpenAPI document',
    tags: ['meta'],
    handler: async () => app.swagger(),
  });

  return { app, route };
}

export { AppError };
