import { createHash } from 'node:crypto';
import type { FieldIssue } from '../../../core/errors.js';

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A string-to-string map at `pointer`, or an issue; absent is {}. */
export function labelMap(v: unknown, pointer: string, issues: FieldIssue[]): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) {
    issues.push({ pointer, message: 'must be an object of strings' });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') issues.push({ pointer: `${pointer}/${k}`, message: 'must be a string' });
    else out[k] = val;
  }
  return out;
}

/** Epoch ms of an RFC 3339 time at `pointer`; Go's zero time ("0001-01-01T00:00:00Z") and absent are null. */
export function rfc3339(v: unknown, pointer: string, issues: FieldIssue[]): number | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') {
    issues.push({ pointer, message: 'must be an RFC 3339 time string' });
    return null;
  }
  if (v.startsWith('0001-01-01')) return null;
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(ms)) {
    issues.push({ pointer, message: `"${v}" is not an RFC 3339 time` });
    return null;
  }
  return ms;
}

/** A stable identity for a label set (sorted), as a short hex digest. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

/** The group key and group labels for `labels` grouped by `by`. */
export function groupOf(labels: Record<string, string>, by: string[]): { key: string; groupLabels: Record<string, string> } {
  const groupLabels: Record<string, string> = {};
  for (const name of by) if (labels[name] !== undefined) groupLabels[name] = labels[name]!;
  return { key: JSON.stringify(by.map((n) => [n, groupLabels[n] ?? ''])), groupLabels };
}
