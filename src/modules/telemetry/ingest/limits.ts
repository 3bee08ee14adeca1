import type { Sample } from '../contracts.js';

export interface SampleLimits {
  maxLabelNameLength?: number;
  maxLabelValueLength?: number;
  /** Labels per series, `__name__` included (as Prometheus' `label_limit` counts them). */
  maxLabels?: number;
}

export interface LimitViolation {
  /** Index into the checked samples. */
  index: number;
  series: string;
  message: string;
}

/**
 * Finds samples whose labels exceed the configured limits. It reports rather than drops, so the
 * caller decides between rejecting the push (a scrape) and counting rejections (OTLP).
 */
export function checkLimits(samples: readonly Sample[], limits: SampleLimits): LimitViolation[] {
  const { maxLabelNameLength, maxLabelValueLength, maxLabels } = limits;
  const violations: LimitViolation[] = [];
  for (let i = 0; i < samples.length; i++) {
    const labels = samples[i]!.labels;
    const series = labels.__name__ ?? '';
    let count = 0;
    for (const name in labels) {
      count++;
      if (maxLabelNameLength !== undefined && name.length > maxLabelNameLength) {
        violations.push({
          index: i,
          series,
          message: `label name "${name.length > 64 ? `${name.slice(0, 64)}…` : name}" is ${name.length} characters, over the limit of ${maxLabelNameLength}`,
        });
      }
      const value = labels[name]!;
      if (maxLabelValueLength !== undefined && value.length > maxLabelValueLength) {
        violations.push({
          index: i,
          series,
          message: `value of label "${name}" is ${value.length} characters, over the limit of ${maxLabelValueLength}`,
        });
      }
    }
    if (maxLabels !== undefined && count > maxLabels) {
      violations.push({ index: i, series, message: `series has ${count} labels, over the limit of ${maxLabels}` });
    }
  }
  return violations;
}
