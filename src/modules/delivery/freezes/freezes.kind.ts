import { Cron } from 'croner';
import type { FieldIssue } from '../../../core/errors.js';
import type { KindDefinition, Lookup, ResourceDocument } from '../../../core/resources/resources.js';
import { FreezeSpec } from './freezes.schema.js';
import type { Freezes } from './freezes.service.js';
import { minuteOfDay } from './windows.js';

/** Checks the schema cannot express: one shape per window, parseable cron, start before end, known services. */
export async function freezeIssues(doc: ResourceDocument<FreezeSpec>, lookup: Lookup): Promise<FieldIssue[]> {
  const issues: FieldIssue[] = [];
  const { services, windows } = doc.spec;
  if (services.includes('*') && services.length > 1) {
    issues.push({ pointer: '/spec/services', message: "'*' already means every service: list it alone" });
  }
  for (const [i, name] of services.entries()) {
    if (name === '*') continue;
    if (!(await lookup('Service', name))) issues.push({ pointer: `/spec/services/${i}`, message: `Service '${name}' does not exist` });
  }
  windows.forEach((w, i) => {
    const at = `/spec/windows/${i}`;
    const absolute = w.start !== undefined || w.end !== undefined;
    if (absolute && w.recurring) {
      issues.push({ pointer: at, message: 'a window is either {start, end} or {recurring}, not both' });
      return;
    }
    if (!absolute && !w.recurring) {
      issues.push({ pointer: at, message: 'a window needs {start, end} (ISO instants) or {recurring: {...}}' });
      return;
    }
    if (absolute) {
      if (w.start === undefined) issues.push({ pointer: `${at}/start`, message: 'a date-range window needs start' });
      if (w.end === undefined) issues.push({ pointer: `${at}/end`, message: 'a date-range window needs end' });
      if (w.start === undefined || w.end === undefined) return;
      const start = Date.parse(w.start);
      const end = Date.parse(w.end);
      if (Number.isNaN(start)) issues.push({ pointer: `${at}/start`, message: `'${w.start}' is not a valid instant` });
      else if (Number.isNaN(end)) issues.push({ pointer: `${at}/end`, message: `'${w.end}' is not a valid instant` });
      else if (end <= start) issues.push({ pointer: `${at}/end`, message: `must be after start (${w.start})` });
      return;
    }
    const r = w.recurring!;
    const rat = `${at}/recurring`;
    if (r.cron !== undefined) {
      for (const field of ['days', 'from', 'to'] as const) {
        if (r[field] !== undefined) issues.push({ pointer: `${rat}/${field}`, message: 'use either cron + duration or days + from + to' });
      }
      if (r.duration === undefined) issues.push({ pointer: `${rat}/duration`, message: 'a cron window needs duration (e.g. 10h)' });
      try {
        new Cron(r.cron, { timezone: r.timeZone ?? 'UTC', paused: true });
      } catch (err) {
        issues.push({ pointer: `${rat}/cron`, message: `not a cron pattern: ${(err as Error).message}` });
      }
      return;
    }
    if (r.duration !== undefined) issues.push({ pointer: `${rat}/duration`, message: 'duration goes with cron; days windows use from/to' });
    if (r.days === undefined) issues.push({ pointer: `${rat}/days`, message: 'a recurring window needs days (e.g. [fri]) or cron' });
    if (r.from === undefined) issues.push({ pointer: `${rat}/from`, message: "needs from, a local time such as '14:00'" });
    if (r.to === undefined) issues.push({ pointer: `${rat}/to`, message: "needs to, the last local minute inside such as '23:59'" });
    if (r.from !== undefined && r.to !== undefined && minuteOfDay(r.from) === minuteOfDay(r.to) + 1) {
      issues.push({ pointer: `${rat}/to`, message: 'from right after to would freeze around the clock; list the days instead' });
    }
  });
  return issues;
}

function describeWindows(spec: FreezeSpec): string {
  return spec.windows
    .map((w) => {
      if (!w.recurring) return `${w.start}..${w.end}`;
      const r = w.recurring;
      const zone = r.timeZone ?? 'UTC';
      return r.cron ? `cron(${r.cron}) for ${r.duration} ${zone}` : `${(r.days ?? []).join(',')} ${r.from}-${r.to} ${zone}`;
    })
    .join('; ');
}

/** The Freeze kind; applying or deleting one re-evaluates its windows in the same transaction. */
export function freezeKind(freezes: Freezes): KindDefinition<FreezeSpec> {
  return {
    kind: 'Freeze',
    module: 'delivery',
    description:
      'A deploy freeze: date ranges and recurring local-time windows (e.g. no Friday-afternoon deploys), per service or for all.',
    spec: FreezeSpec,
    validate: freezeIssues,
    columns: [
      { header: 'SERVICES', value: (doc) => doc.spec.services.join(',') },
      { header: 'WINDOWS', value: (doc) => describeWindows(doc.spec) },
      { header: 'REASON', value: (doc) => doc.spec.reason },
    ],
    onApply: (tx, doc) => freezes.syncWindows(tx, doc.metadata.name),
    onDelete: (tx, doc) => freezes.syncWindows(tx, doc.metadata.name),
  };
}
