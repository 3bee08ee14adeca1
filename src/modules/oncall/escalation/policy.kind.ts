import type { FieldIssue } from '../../../core/errors.js';
import { parseDuration } from '../../../core/resources/formats.js';
import type { KindDefinition, ResourceRef, Resources } from '../../../core/resources/resources.js';
import {
  ESCALATION_POLICY_KIND,
  type EscalationPolicySpec,
  EscalationPolicySpec as Schema,
  ServiceOncallSection,
} from './policy.schema.js';

export const escalationPolicyKind: KindDefinition<EscalationPolicySpec> = {
  kind: ESCALATION_POLICY_KIND,
  module: 'oncall',
  description: 'Who is paged, in what order, and how long each step waits for an acknowledgement before the next.',
  spec: Schema,
  refs(spec) {
    const refs: ResourceRef[] = [];
    for (const [i, step] of spec.steps.entries()) {
      for (const [j, t] of step.notify.entries()) {
        const pointer = `/spec/steps/${i}/notify/${j}`;
        if ('schedule' in t) refs.push({ kind: 'Schedule', name: t.schedule, pointer: `${pointer}/schedule` });
        if ('user' in t) refs.push({ kind: 'User', name: t.user, pointer: `${pointer}/user` });
        if ('team' in t) refs.push({ kind: 'Team', name: t.team, pointer: `${pointer}/team` });
      }
    }
    return refs;
  },
  validate(doc) {
    const issues: FieldIssue[] = [];
    const { spec } = doc;
    const last = spec.steps.length - 1;
    spec.steps.forEach((step, i) => {
      // A zero wait on a step with a next step would page everyone at once: say so rather than guess.
      if (i < last && parseDuration(step.after) === 0) {
        issues.push({ pointer: `/spec/steps/${i}/after`, message: 'must be longer than 0s: the next step would page at the same moment' });
      }
    });
    if (spec.workingHours && spec.urgency !== 'low') {
      issues.push({ pointer: '/spec/workingHours', message: "only applies to urgency 'low' (high urgency pages at any hour)" });
    }
    const wh = spec.workingHours;
    if (wh && wh.to <= wh.from) issues.push({ pointer: '/spec/workingHours/to', message: `must be after from (${wh.from})` });
    if (spec.ackTimeout !== undefined && (parseDuration(spec.ackTimeout) ?? 0) < 60_000) {
      issues.push({ pointer: '/spec/ackTimeout', message: 'must be at least 1m' });
    }
    return issues;
  },
  columns: [
    { header: 'STEPS', value: (doc) => String(doc.spec.steps.length) },
    { header: 'REPEAT', value: (doc) => String(doc.spec.repeat ?? 0) },
    { header: 'URGENCY', value: (doc) => doc.spec.urgency ?? 'high' },
  ],
};

/** EscalationPolicy, and `Service.spec.oncall.escalationPolicy`, which must name one. */
export function registerEscalationKinds(resources: Resources): void {
  resources.register(escalationPolicyKind);
  resources.extend('Service', 'oncall', ServiceOncallSection, 'oncall', {
    async validate(doc, lookup) {
      const oncall = (doc.spec as { oncall?: ServiceOncallSection }).oncall;
      if (!oncall) return [];
      const named: [string, string][] = [
        ['/spec/oncall/escalationPolicy', oncall.escalationPolicy],
        ...Object.entries(oncall.bySeverity ?? {}).map(([sev, name]): [string, string] => [`/spec/oncall/bySeverity/${sev}`, name]),
      ];
      const issues = [];
      for (const [pointer, name] of named) {
        if (!(await lookup(ESCALATION_POLICY_KIND, name))) issues.push({ pointer, message: `EscalationPolicy '${name}' does not exist` });
      }
      return issues;
    },
  });
}
