import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { auditMigrations } from './audit/audit.migrations.js';
import { auditRoutes } from './audit/audit.routes.js';
import { createAudit } from './audit/chain.js';
import { authMigrations } from './auth/auth.migrations.js';
import { authRoutes } from './auth/auth.routes.js';
import { createAuth } from './auth/tokens.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { openDatabase } from './db/database.js';
import { type Migration, migrate, pendingMigrations } from './db/migrations.js';
import { eventsMigrations } from './events/events.migrations.js';
import { eventsRoutes } from './events/events.routes.js';
import { createEvents } from './events/outbox.js';
import { healthRoutes } from './http/health.routes.js';
import { createHttpServer } from './http/server.js';
import { jobsMigrations } from './jobs/jobs.migrations.js';
import { jobsRoutes } from './jobs/jobs.routes.js';
import { createJobs } from './jobs/runner.js';
import { createLogger, type Logger } from './logger.js';
import type { Core, ModuleDefinition, RouteDefinition } from './module.js';
import { createResources } from './resources/apply.js';
import { resourcesMigrations } from './resources/resources.migrations.js';
import { resourcesRoutes } from './resources/resources.routes.js';

export const VERSION = '0.1.0';

export interface StartOptions {
  modules?: ModuleDefinition[];
  clock?: Clock;
  logger?: Logger;
  /** Listen for HTTP (default true when the role serves the API). Tests may use `app.inject` instead. */
  listen?: boolean;
}

export interface RunningServer {
  /** Base URL when listening, e.g. http://127.0.0.1:7070. */
  url: string;
  core: Core;
  /** Set only when this start created the admin token. */
  adminToken?: string;
  /** The narrow interfaces the modules returned, by module id. */
  modules: Record<string, unknown>;
  app?: FastifyInstance;
  /** Stops accepting, finishes in-flight work within graceMs, releases leases, closes the store. */
  close(graceMs?: number): Promise<void>;
}

const coreMigrations: Migration[] = [...authMigrations, ...auditMigrations, ...eventsMigrations, ...jobsMigrations, ...resourcesMigrations];

/** Orders modules so each comes after the modules it depends on. */
export function orderModules(modules: ModuleDefinition[]): ModuleDefinition[] {
  const byId = new Map(modules.map((m) => [m.id, m]));
  const ordered: ModuleDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: ModuleDefinition, path: string[]) => {
    if (state.get(m.id) === 'done') return;
    if (state.get(m.id) === 'visiting') throw new Error(`module dependency cycle: ${[...path, m.id].join(' -> ')}`);
    state.set(m.id, 'visiting');
    for (const dep of m.deps ?? []) {
      const d = byId.get(dep);
      if (!d) throw new Error(`module ${m.id} depends on ${dep}, which is not installed`);
      visit(d, [...path, m.id]);
    }
    state.set(m.id, 'done');
    ordered.push(m);
  };
  for (const m of modules) visit(m, []);
  return ordered;
}

/** Writes the bootstrap admin token where the local CLI finds it; readable by the owner only. */
function writeAdminToken(dataDir: string, token: string): string {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'admin-token');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** Builds the kernel, sets up the modules and, by role, serves HTTP and runs jobs and subscribers. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const modules = orderModules(options.modules ?? []);
  const serveApi = config.role !== 'worker';
  const runWorker = config.role !== 'api';

  const database = await openDatabase({ url: config.databaseUrl, pgSchema: config.databaseSchema, dataDir: config.dataDir });
  const migrationSets = [
    { module: 'core', migrations: coreMigrations },
    ...modules.map((m) => ({ module: m.id, migrations: m.migrations ?? [] })),
  ];
  const applied = await migrate(database, migrationSets);
  if (applied.length) logger.info({ module: 'kernel', applied }, 'migrations applied');

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const audit = createAudit({ database, clock });
  const events = createEvents({ database, clock, logger });
  const auth = createAuth({ database, clock, audit });
  const jobs = createJobs({ database, clock, logger, metrics, leaderLeaseMs: config.leaderLeaseMs });
  const resources = createResources({ database, events, audit, clock, logger });
  let url = '';
  const publicUrl = () => config.publicUrl ?? (url || `http://${config.host}:${config.port}`);
  const core: Core = { config, database, db: database.db, clock, logger, metrics, jobs, events, audit, auth, resources, publicUrl };

  new Gauge({
    name: 'opsdeck_events_subscriber_lag_events',
    help: 'Events published but not yet handled, per durable subscriber',
    labelNames: ['subscriber'],
    registers: [metrics],
    async collect() {
      for (const { subscriber, lag } of await events.lag()) this.set({ subscriber }, lag);
    },
  });

  const adminToken = await auth.bootstrapAdmin(config.adminToken);
  if (adminToken) {
    const path = writeAdminToken(config.dataDir, adminToken);
    logger.info({ module: 'kernel', path }, 'created the admin token');
  }

  const moduleRoutes: RouteDefinition[] = [];
  const apis: Record<string, unknown> = {};
  for (const m of modules) {
    const deps = Object.fromEntries((m.deps ?? []).map((d) => [d, apis[d]]));
    apis[m.id] = await m.setup({ core, logger: logger.child({ module: m.id }), deps, route: (r) => moduleRoutes.push(r) });
  }

  const health = { accepting: true, pendingMigrations: () => pendingMigrations(database, migrationSets) };
  let app: FastifyInstance | undefined;
  if (serveApi) {
    const http = await createHttpServer({ core, logger, metrics, bodyLimit: config.bodyLimit, version: VERSION });
    app = http.app;
    for (const r of [
      ...healthRoutes(core, metrics, health),
      ...authRoutes(core),
      ...auditRoutes(core),
      ...jobsRoutes(core),
      ...eventsRoutes(core),
      ...resourcesRoutes(core),
      ...moduleRoutes,
    ]) {
      http.route(r);
    }
    if (options.listen !== false) {
      const address = await app.listen({ port: config.port, host: config.host });
      url = address.replace('[::1]', 'localhost');
    } else {
      await app.ready();
    }
  }

  if (runWorker) await jobs.start();
  await events.start({ api: serveApi, worker: runWorker });
  logger.info({ module: 'kernel', url, role: config.role, dialect: database.dialect }, 'opsdeck started');

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.shutdownGraceMs) => {
    closing ??= (async () => {
      health.accepting = false;
      const deadline = Date.now() + graceMs;
      if (app) {
        await Promise.race([app.close(), new Promise((r) => setTimeout(r, graceMs).unref())]);
      }
      await jobs.stop(Math.max(0, deadline - Date.now()));
      await events.stop();
      await database.close();
      logger.info({ module: 'kernel' }, 'opsdeck stopped');
    })();
    return closing;
  };

  return { url, core, adminToken, modules: apis, app, close };
}
