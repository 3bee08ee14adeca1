import { type Static, Type } from '@sinclair/typebox';
import { WEEKDAYS } from './windows.js';

const ServiceOrAll = Type.String({
  pattern: '^(\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$',
  maxLength: 63,
  errorMessage: "must be a Service name or '*' (every service)",
});

const HHMM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', errorMessage: "must be a local time HH:MM such as '14:00'" });

/** ISO-8601 instant with an offset; checked with Date.parse by the kind's validate. */
export const INSTANT_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$';
const Instant = Type.String({
  pattern: INSTANT_PATTERN,
  errorMessage: "must be an ISO-8601 instant with an offset such as '2026-12-24T00:00:00Z'",
});

export const RecurringSpec = Type.Object({
  days: Type.Optional(Type.Array(Type.Union(WEEKDAYS.map((d) => Type.Literal(d))), { minItems: 1, maxItems: 7, uniqueItems: true })),
  from: Type.Optional(HHMM),
  to: Type.Optional(HHMM),
  cron: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  duration: Type.Optional(Type.String({ format: 'duration' })),
  timeZone: Type.Optional(Type.String({ format: 'time-zone', default: 'UTC' })),
});

/** `{start, end}` or `{recurring}`; which one is checked by validate so the message names the field. */
export const FreezeWindowSchema = Type.Object({
  start: Type.Optional(Instant),
  end: Type.Optional(Instant),
  recurring: Type.Optional(RecurringSpec),
});

export const FreezeSpec = Type.Object(
  {
    services: Type.Array(ServiceOrAll, { minItems: 1, maxItems: 500, uniqueItems: true }),
    reason: Type.String({ minLength: 1, maxLength: 1000 }),
    windows: Type.Array(FreezeWindowSchema, { minItems: 1, maxItems: 100 }),
  },
  { description: 'When deploys to some services (or all) are refused: date ranges and recurring local-time windows' },
);
export type FreezeSpec = Static<typeof FreezeSpec>;

/** Keys of API freezes: `incident:INC-12`, `manual:...`; usable in a URL path segment. */
export const FREEZE_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$';

// Route schemas go to Fastify's ajv, which knows no `errorMessage`.
export const CreateFreezeBody = Type.Object(
  {
    key: Type.Optional(Type.String({ pattern: FREEZE_KEY_PATTERN })),
    service: Type.String({ pattern: '^(\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$', maxLength: 63 }),
    reason: Type.String({ minLength: 1, maxLength: 1000 }),
  },
  { additionalProperties: false },
);
export type CreateFreezeBody = Static<typeof CreateFreezeBody>;

export const ListFreezesQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ maxLength: 63 })),
    at: Type.Optional(Type.String({ pattern: INSTANT_PATTERN })),
  },
  { additionalProperties: false },
);

/** One freeze in force, as the API shows it. */
export interface FreezeView {
  /** Freeze resource name, or the key of an API freeze. */
  name: string;
  source: 'resource' | 'api';
  /** Service names, or ['*']. */
  services: string[];
  reason: string;
  /** When this frozen period began: the window's start, or when the API freeze was set (null when unknown). */
  since: number | null;
  /** When it ends: the end of the current window(s); null for API freezes (until lifted) or beyond a week. */
  until: number | null;
  createdBy?: string;
}
