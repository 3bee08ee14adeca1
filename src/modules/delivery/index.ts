import { defineModule } from '../../core/module.js';
import type { CatalogApi } from '../catalog/index.js';
import type { RuntimeApi } from '../runtime/index.js';
import type { TelemetryApi } from '../telemetry/index.js';
import { analysisMigrations, analysisTemplateKind, setupAnalysis } from './analysis/index.js';
import type { AnalysisService, DeliveryContext, FreezeService } from './contracts.js';
import { doraMigrations, setupDora } from './dora/index.js';
import { freezesMigrations, setupFreezes } from './freezes/index.js';
import { pipelinesMigrations, setupPipelines } from './pipelines/index.js';
import { type RolloutsApi, rolloutsMigrations, setupRollouts } from './rollouts/index.js';

export type {
  ActiveFreeze,
  AnalysisRunView,
  AnalysisService,
  Decision,
  FreezeService,
  RolloutPhase,
  RolloutService,
  RolloutSummary,
  StartRolloutInput,
} from './contracts.js';
export { ANALYSIS_COMPLETED, ROLLOUT_ABORTED, ROLLOUT_SUCCEEDED } from './contracts.js';
export type { RolloutsApi, RolloutView } from './rollouts/index.js';

/** What other modules may use: incidents freeze services, others read rollouts and analysis. */
export interface DeliveryApi {
  rollouts: RolloutsApi;
  freezes: FreezeService;
  analysis: AnalysisService;
}

/**
 * Delivery: rollout strategies and the rollout engine (canary, blue-green, rolling; rollback;
 * manual control), analysis (templates and the built-in baseline judge), freezes, release
 * pipelines and DORA metrics. Each part sets itself up against the shared DeliveryContext.
 */
export const deliveryModule = defineModule<DeliveryApi>({
  id: 'delivery',
  deps: ['catalog', 'runtime', 'telemetry'],
  migrations: [...rolloutsMigrations, ...analysisMigrations, ...freezesMigrations, ...pipelinesMigrations, ...doraMigrations],
  async setup(mctx) {
    const ctx: DeliveryContext = {
      core: mctx.core,
      catalog: mctx.deps.catalog as CatalogApi,
      runtime: mctx.deps.runtime as RuntimeApi,
      telemetry: mctx.deps.telemetry as TelemetryApi,
      logger: mctx.logger,
      route: (definition) => mctx.route(definition),
    };
    mctx.core.resources.register(analysisTemplateKind);
    const analysis = await setupAnalysis(ctx);
    const freezes = await setupFreezes(ctx);
    const rollouts = setupRollouts(ctx, { analysis, freezes });
    await setupPipelines(ctx, { rollouts });
    await setupDora(ctx);
    return { rollouts, freezes, analysis };
  },
});
