import type { FieldIssue } from '../../../core/errors.js';
import type { KindDefinition, ResourceDocument } from '../../../core/resources/resources.js';
import { PipelineSpec, STAGE_TYPES, stageType } from './pipelines.schema.js';

/** One stage type per stage, unique names, at most one production stage and nothing after it. */
export function pipelineIssues(doc: ResourceDocument<PipelineSpec>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Map<string, number>();
  const stages = doc.spec.stages;
  stages.forEach((stage, i) => {
    const at = `/spec/stages/${i}`;
    const types = STAGE_TYPES.filter((t) => stage[t] !== undefined);
    if (types.length !== 1) {
      issues.push({
        pointer: at,
        message:
          types.length === 0
            ? `a stage needs one of ${STAGE_TYPES.join(', ')}`
            : `a stage is one of ${STAGE_TYPES.join(', ')}, not ${types.join(' and ')}`,
      });
    }
    const first = seen.get(stage.name);
    if (first !== undefined) issues.push({ pointer: `${at}/name`, message: `duplicate stage name '${stage.name}' (also stage ${first})` });
    else seen.set(stage.name, i);
    if (types.length === 1 && stageType(stage) === 'production' && i !== stages.length - 1) {
      issues.push({ pointer: at, message: 'production must be the last stage' });
    }
  });
  return issues;
}

export const pipelineKind: KindDefinition<PipelineSpec> = {
  kind: 'Pipeline',
  module: 'delivery',
  description:
    'How a version reaches production: run (tests, build), staging (deploy, smoke, load test), approval, production (the rollout).',
  spec: PipelineSpec,
  validate: pipelineIssues,
  columns: [{ header: 'STAGES', value: (doc) => doc.spec.stages.map((s) => `${s.name}(${stageType(s) ?? '?'})`).join(' → ') }],
};
