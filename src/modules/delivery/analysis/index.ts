import type { AnalysisService, DeliveryContext } from '../contracts.js';
import { analysisRoutes } from './analysis.routes.js';
import { createAnalysisService } from './analysis.service.js';
import { registerMeasureJob } from './measure-job.js';

export { analysisMigrations } from './analysis.migrations.js';
export {
  ANALYSIS_MEASURED,
  ANALYSIS_STARTED,
  ANALYSIS_TERMINATED,
  type AnalysisRunDetails,
  createAnalysisService,
  MEASURE_JOB,
  type MetricSummary,
} from './analysis.service.js';
export { JUDGE_DEFAULTS, type JudgeOptions } from './judge.js';
export { BUILTIN } from './metrics.js';
export { ANALYSIS_TEMPLATE_KIND, analysisTemplateKind, BUILTIN_TEMPLATE } from './template.kind.js';
export { AnalysisTemplateSpec } from './template.schema.js';

/**
 * Analysis inside the delivery module: registers the measurement job handler and the routes, and
 * returns the AnalysisService. The delivery module registers `analysisTemplateKind` and lists
 * `analysisMigrations` with its own.
 */
export function setupAnalysis(ctx: DeliveryContext): AnalysisService {
  registerMeasureJob(ctx);
  for (const route of analysisRoutes(ctx)) ctx.route(route);
  return createAnalysisService(ctx);
}
