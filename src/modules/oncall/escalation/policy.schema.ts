import { type Static, Type } from '@sinclair/typebox';
import { NAME_PATTERN } from '../../../core/resources/kinds.js';

export const ESCALATION_POLICY_KIND = 'EscalationPolicy';

const Name = (what: string) => Type.String({ pattern: NAME_PATTERN, maxLength: 63, errorMessage: `must be the name of a ${what}` });
const Duration = Type.String({ format: 'duration' });
export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
const Weekday = Type.Union(WEEKDAYS.map((d) => Type.Literal(d)));
const Clock = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$|^24:00$', errorMessage: "must be a time of day such as '09:00'" });

/** Who a step notifies: one of these shapes per entry. */
export const Target = Type.Union([
  Type.Object(
    {
      schedule: Name('Schedule'),
      /** `current` (default): whoever is on call now; `next`: whoever takes over after them. */
      who: Type.Optional(Type.Union([Type.Literal('current'), Type.Literal('next')])),
    },
    { additionalProperties: false },
  ),
  Type.Object({ user: Name('User') }, { additionalProperties: false }),
  Type.Object(
    {
      team: Name('Team'),
      /** `all` members at once, or `round-robin`: one member per page, in turn. */
      mode: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('round-robin')])),
    },
    { additionalProperties: false },
  ),
  Type.Object({ webhook: Type.String({ format: 'url' }) }, { additionalProperties: false }),
]);
export type Target = Static<typeof Target>;

export const EscalationStep = Type.Object(
  {
    notify: Type.Array(Target, { minItems: 1, maxItems: 20 }),
    /** How long to wait for an acknowledgement before the next step. */
    after: Duration,
  },
  { additionalProperties: false },
);
export type EscalationStep = Static<typeof EscalationStep>;

export const EscalationPolicySpec = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    steps: Type.Array(EscalationStep, { minItems: 1, maxItems: 20, errorMessage: 'must list at least one step' }),
    /** Run the whole chain again this many times when nobody acknowledges. */
    repeat: Type.Optional(Type.Integer({ minimum: 0, maximum: 9, default: 0 })),
    /** `high`: personal rules and escalation; `low`: notify once, no escalation. */
    urgency: Type.Optional(Type.Union([Type.Literal('high'), Type.Literal('low')])),
    /** Low urgency only: hold notifications outside these hours until they start. */
    workingHours: Type.Optional(
      Type.Object(
        {
          timeZone: Type.String({ format: 'time-zone' }),
          days: Type.Array(Weekday, { minItems: 1, uniqueItems: true }),
          from: Clock,
          to: Clock,
        },
        { additionalProperties: false },
      ),
    ),
    /** An acknowledged page not resolved within this re-triggers (auto-unack). */
    ackTimeout: Type.Optional(Duration),
  },
  { additionalProperties: false },
);
export type EscalationPolicySpec = Static<typeof EscalationPolicySpec>;

export const DEFAULT_ACK_TIMEOUT = '30m';

/** Service.spec.oncall: which policy pages for this service, and per-severity overrides (incidents use them). */
export const ServiceOncallSection = Type.Object(
  {
    escalationPolicy: Name('EscalationPolicy'),
    /** e.g. `{ SEV1: feed-critical }`: a page with that severity runs this policy instead. */
    bySeverity: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,20}$' }), Name('EscalationPolicy'))),
  },
  { additionalProperties: false },
);
export type ServiceOncallSection = Static<typeof ServiceOncallSection>;
