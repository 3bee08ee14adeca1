import { Type } from '@sinclair/typebox';
import { validationFailed } from '../../../core/errors.js';
import type { RouteDefinition } from '../../../core/module.js';
import { parseDuration } from '../../../core/resources/formats.js';
import type { DeliveryContext } from '../contracts.js';
import { doraReport } from './dora.service.js';

const MAX_WINDOW_MS = 366 * 86_400_000;

/** `30d`, `12w`, `2026-01-01T00:00:00Z` → the window's start; 400 naming `since` otherwise. */
export function sinceOf(text: string | undefined, now: number): number {
  const value = text ?? '30d';
  const ms = parseDuration(value);
  const from = ms !== undefined ? now - ms : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(from) || from >= now || now - from > MAX_WINDOW_MS) {
    const message = `must be a duration from 1m to 366d such as '30d', or an ISO time in the past year (got '${value}')`;
    throw validationFailed(`since ${message}`, [{ pointer: '/since', message }]);
  }
  return from;
}

export function doraRoutes(ctx: DeliveryContext): RouteDefinition[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/dora',
      access: 'viewer',
      operationId: 'getDoraMetrics',
      summary:
        'DORA metrics per service and overall, with performance bands: deploy frequency, lead time, change failure rate, time to restore',
      tags: ['delivery'],
      schema: {
        querystring: Type.Object(
          { service: Type.Optional(Type.String({ maxLength: 63 })), since: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
      },
      handler: async (req) => {
        const q = req.query as { service?: string; since?: string };
        const now = ctx.core.clock.now();
        return doraReport(ctx, { from: sinceOf(q.since, now), to: now, service: q.service });
      },
    },
  ];
}
