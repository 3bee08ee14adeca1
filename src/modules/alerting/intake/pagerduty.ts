import { randomBytes } from 'node:crypto';
import type { IncomingGroup } from '../groups/groups.service.js';
import { isObject } from './parse-support.js';

/** PagerDuty's severities, which become the alert's `severity` label. */
const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const ACTIONS = ['trigger', 'acknowledge', 'resolve'];

export interface PagerDutyEvent {
  routingKey: string;
  action: 'trigger' | 'acknowledge' | 'resolve';
  dedupKey: string;
  /** The dedup key was generated here (returned to the sender, as PagerDuty does). */
  generated: boolean;
  payload: { summary: string; source: string; severity: string; timestamp?: string; component?: string; group?: string; class?: string };
  customDetails: unknown;
}

/**
 * Validates an Events API v2 enqueue body with PagerDuty's rules and error wording
 * (`errors[]` of field-level messages). A trigger without dedup_key gets a generated one.
 */
export function parsePagerDutyEvent(body: unknown): { event?: PagerDutyEvent; errors: string[] } {
  const errors: string[] = [];
  if (!isObject(body)) return { errors: ['Event object is invalid: body must be a JSON object'] };
  const routingKey = body.routing_key;
  if (typeof routingKey !== 'string' || !routingKey) errors.push("'routing_key' is missing or blank");
  else if (routingKey.length !== 32) errors.push("'routing_key' must be 32 characters");
  const action = body.event_action;
  if (typeof action !== 'string' || !ACTIONS.includes(action)) errors.push("'event_action' must be one of trigger, acknowledge, resolve");
  let dedupKey = body.dedup_key;
  if (dedupKey !== undefined && (typeof dedupKey !== 'string' || dedupKey.length > 255))
    errors.push("'dedup_key' must be a string of at most 255 characters");
  if ((action === 'acknowledge' || action === 'resolve') && (typeof dedupKey !== 'string' || !dedupKey)) {
    errors.push(`'dedup_key' is required for event_action ${action}`);
  }
  const payload = isObject(body.payload) ? body.payload : undefined;
  if (action === 'trigger') {
    if (!payload) errors.push("'payload' is missing or not an object");
    else {
      if (typeof payload.summary !== 'string' || !payload.summary) errors.push("'payload.summary' is missing or blank");
      else if (payload.summary.length > 1024) errors.push("'payload.summary' must be at most 1024 characters");
      if (typeof payload.source !== 'string' || !payload.source) errors.push("'payload.source' is missing or blank");
      if (typeof payload.severity !== 'string' || !SEVERITIES.includes(payload.severity)) {
        errors.push("'payload.severity' must be one of critical, error, warning, info");
      }
      if (payload.timestamp !== undefined && (typeof payload.timestamp !== 'string' || Number.isNaN(Date.parse(payload.timestamp)))) {
        errors.push("'payload.timestamp' must be an ISO 8601 time");
      }
      for (const f of ['component', 'group', 'class'] as const) {
        if (payload[f] !== undefined && typeof payload[f] !== 'string') errors.push(`'payload.${f}' must be a string`);
      }
    }
  }
  if (errors.length) return { errors };
  const generated = typeof dedupKey !== 'string' || !dedupKey;
  if (generated) dedupKey = randomBytes(16).toString('hex');
  const p = (payload ?? {}) as Record<string, unknown>;
  return {
    errors,
    event: {
      routingKey: routingKey as string,
      action: action as PagerDutyEvent['action'],
      dedupKey: dedupKey as string,
      generated,
      payload: {
        summary: String(p.summary ?? ''),
        source: String(p.source ?? ''),
        severity: String(p.severity ?? ''),
        ...(typeof p.timestamp === 'string' ? { timestamp: p.timestamp } : {}),
        ...(typeof p.component === 'string' ? { component: p.component } : {}),
        ...(typeof p.group === 'string' ? { group: p.group } : {}),
        ...(typeof p.class === 'string' ? { class: p.class } : {}),
      },
      customDetails: p.custom_details,
    },
  };
}

/** A PagerDuty event as a group of one alert keyed by its dedup key. */
export function pagerDutyGroup(event: PagerDutyEvent, ctx: { integration: string; service: string; now: number }): IncomingGroup {
  const labels: Record<string, string> = { dedup_key: event.dedupKey };
  for (const f of ['source', 'severity', 'component', 'group', 'class'] as const) if (event.payload[f]) labels[f] = event.payload[f]!;
  const annotations: Record<string, string> = { summary: event.payload.summary };
  if (event.customDetails !== undefined) annotations.custom_details = JSON.stringify(event.customDetails).slice(0, 16_384);
  const startsAt = event.payload.timestamp ? Date.parse(event.payload.timestamp) : ctx.now;
  return {
    source: 'pagerduty',
    integration: ctx.integration,
    key: event.dedupKey,
    service: ctx.service,
    title: event.payload.summary || event.dedupKey,
    groupLabels: { dedup_key: event.dedupKey },
    alerts:
      event.action === 'acknowledge'
        ? []
        : [
            {
              fingerprint: event.dedupKey,
              status: event.action === 'resolve' ? 'resolved' : 'firing',
              labels,
              annotations,
              startsAt,
              endsAt: null,
            },
          ],
    ...(event.action === 'acknowledge' ? { acknowledge: { by: `integration:${ctx.integration}` } } : {}),
  };
}

/** A change event: it goes on the change timeline and never notifies. */
export function parsePagerDutyChange(body: unknown): {
  change?: { routingKey: string; summary: string; source?: string; timestamp?: string; details?: unknown; links?: unknown };
  errors: string[];
} {
  const errors: string[] = [];
  if (!isObject(body)) return { errors: ['Event object is invalid: body must be a JSON object'] };
  if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32) errors.push("'routing_key' must be 32 characters");
  const payload = isObject(body.payload) ? body.payload : undefined;
  if (!payload) errors.push("'payload' is missing or not an object");
  else if (typeof payload.summary !== 'string' || !payload.summary || payload.summary.length > 1024) {
    errors.push("'payload.summary' is missing, blank or longer than 1024 characters");
  }
  if (errors.length || !payload) return { errors };
  return {
    errors,
    change: {
      routingKey: body.routing_key as string,
      summary: payload.summary as string,
      ...(typeof payload.source === 'string' ? { source: payload.source } : {}),
      ...(typeof payload.timestamp === 'string' ? { timestamp: payload.timestamp } : {}),
      details: payload.custom_details,
      links: body.links,
    },
  };
}
