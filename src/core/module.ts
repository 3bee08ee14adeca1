import type { FastifyReply, FastifyRequest, FastifySchema, HTTPMethods } from 'fastify';
import type { Registry } from 'prom-client';
import type { Audit } from './audit/audit.js';
import type { Auth } from './auth/auth.js';
import type { Actor, Role } from './auth/roles.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Database, Db } from './db/database.js';
import type { Migration } from './db/migrations.js';
import type { Events } from './events/events.js';
import type { Jobs } from './jobs/jobs.js';
import type { Logger } from './logger.js';
import type { Resources } from './resources/resources.js';

/** The kernel services every module may use. */
export interface Core {
  config: Config;
  database: Database;
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  jobs: Jobs;
  events: Events;
  audit: Audit;
  auth: Auth;
  resources: Resources;
  /** Base URL for links people follow (ack links, console): `--public-url`, else where this server listens. */
  publicUrl(): string;
}

/** `public` routes need no token; every other route names the least role it admits. */
export type Access = 'public' | Role;

export interface RouteDefinition {
  method: HTTPMethods | HTTPMethods[];
  url: string;
  /** Required: a route that does not say who may call it is refused at registration. */
  access: Access;
  /** Unique, camelCase; becomes the OpenAPI operationId. */
  operationId: string;
  summary?: string;
  tags?: string[];
  schema?: Omit<FastifySchema, 'operationId' | 'summary' | 'tags'>;
  bodyLimit?: number;
  /** Content types besides JSON this route parses as a raw string body (e.g. YAML, Prometheus text). */
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

export interface ModuleContext {
  core: Core;
  logger: Logger;
  /** The narrow interfaces of the modules named in `deps`. */
  deps: Record<string, unknown>;
  route(definition: RouteDefinition): void;
}

/**
 * A domain module: its migrations, and a `setup` that registers kinds, routes, job handlers
 * and subscribers through the context and returns the narrow interface other modules may use.
 */
export interface ModuleDefinition<Api = unknown> {
  id: string;
  deps?: string[];
  migrations?: Migration[];
  setup(ctx: ModuleContext): Api | Promise<Api>;
}

export function defineModule<Api>(definition: ModuleDefinition<Api>): ModuleDefinition<Api> {
  return definition;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook for every non-public route. */
    actor: Actor;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}
