import { Type } from '@sinclair/typebox';
import { validationFailed } from '../../../core/errors.js';
import type { Core, RouteDefinition } from '../../../core/module.js';
import { parseDuration } from '../../../core/resources/formats.js';
import type { CatalogApi } from '../../catalog/index.js';
import { oncallReport } from './report.js';

const MAX_WINDOW_MS = 366 * 24 * 3600_000;

export function reportRoutes(core: Core, catalog: CatalogApi): RouteDefinition[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/oncall/report',
      access: 'viewer',
      operationId: 'oncallReport',
      summary: 'Health of on-call: MTTA, pages per person per week, off-hours pages, escalation rate, noisy alerts',
      tags: ['oncall'],
      schema: { querystring: Type.Object({ since: Type.Optional(Type.String({ maxLength: 40 })) }) },
      async handler(request) {
        const { since = '7d' } = request.query as { since?: string };
        const now = core.clock.now();
        const ago = parseDuration(since);
        const from = ago !== undefined ? now - ago : Date.parse(since);
        if (Number.isNaN(from) || from >= now || now - from > MAX_WINDOW_MS) {
          throw validationFailed('invalid since', [
            { pointer: '/since', message: `"${since}" must be a duration such as 7d or an ISO-8601 time in the last year` },
          ]);
        }
        return oncallReport(core.db, catalog, from, now);
      },
    },
  ];
}
