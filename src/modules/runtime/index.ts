import { defineModule } from '../../core/module.js';
import type { CatalogApi } from '../catalog/index.js';
import { agentRoutes } from './agent.routes.js';
import type { RuntimeContext } from './context.js';
import { registerFaultExpiry } from './faults.js';
import { serviceSubscriber } from './releases.js';
import { runtimeMigrations } from './runtime.migrations.js';
import { runtimeRoutes } from './runtime.routes.js';
import { RuntimeSection } from './runtime.schema.js';
import { createRuntimeApi, pruneRuntime, type RuntimeApi } from './runtime.service.js';
import { runtimeIssues } from './spec.js';

export type { KillInput } from './actions.js';
export type { AddFaultInput, Fault } from './faults.js';
export type { CreateReleaseInput } from './releases.js';
export type { Overrides, RuntimeSection } from './runtime.schema.js';
export { INITIAL_VERSION, VERSION_ANNOTATION, VERSION_PATTERN } from './runtime.schema.js';
export type { RuntimeApi } from './runtime.service.js';
export type { Release } from './runtime.store.js';
export type { ServiceStats, TrafficTotal, VersionStats } from './stats.js';
export { histogramQuantile } from './stats.js';
export type { Mirror, ScaleInput } from './traffic.js';
export type { InstanceView, VersionView } from './views.js';

const RETENTION_EVERY_MS = 10 * 60_000;

/**
 * The local process runtime, control-plane side: Services' `runtime` sections, releases, what
 * runs where (weights, instances, mirror), faults and kill actions, the desired state agents
 * converge to, and what they report back (status, events, traffic, logs).
 */
export const runtimeModule = defineModule<RuntimeApi>({
  id: 'runtime',
  deps: ['catalog'],
  migrations: runtimeMigrations,
  setup(ctx) {
    const runtime: RuntimeContext = {
      core: ctx.core,
      catalog: ctx.deps.catalog as CatalogApi,
      cwd: process.cwd(),
      logger: ctx.logger,
      agentTokens: new Map(),
    };
    ctx.core.resources.extend('Service', 'runtime', RuntimeSection, 'runtime', {
      validate: (doc, _lookup, list) => runtimeIssues(doc, list),
    });
    ctx.core.events.subscribe(serviceSubscriber(runtime));
    registerFaultExpiry(runtime);
    ctx.core.jobs.recurring({
      id: 'runtime.retention',
      scope: 'global',
      schedule: { every: RETENTION_EVERY_MS },
      run: () => pruneRuntime(runtime),
    });
    for (const route of [...runtimeRoutes(runtime), ...agentRoutes(runtime)]) ctx.route(route);
    return createRuntimeApi(runtime);
  },
});
