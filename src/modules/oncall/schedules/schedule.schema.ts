import { type Static, Type } from '@sinclair/typebox';
import { NAME_PATTERN } from '../../../core/resources/kinds.js';
import { WEEKDAYS } from '../escalation/policy.schema.js';

export const SCHEDULE_KIND = 'Schedule';

const UserName = Type.String({ pattern: NAME_PATTERN, maxLength: 63, errorMessage: 'must be the name of a User' });
const Weekday = Type.Union(WEEKDAYS.map((d) => Type.Literal(d)));
/** A time of day; `24:00` only as the end of a window. */
export const ClockTime = Type.String({
  pattern: '^(([01]\\d|2[0-3]):[0-5]\\d|24:00)$',
  errorMessage: "must be a time of day such as '09:00' (or '24:00' to end a window at midnight)",
});

export const Restriction = Type.Union([
  Type.Object({ daily: Type.Object({ from: ClockTime, to: ClockTime }, { additionalProperties: false }) }, { additionalProperties: false }),
  Type.Object(
    {
      weekly: Type.Object(
        {
          from: Type.Object({ weekday: Weekday, time: ClockTime }, { additionalProperties: false }),
          to: Type.Object({ weekday: Weekday, time: ClockTime }, { additionalProperties: false }),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
]);
export type Restriction = Static<typeof Restriction>;

export const Layer = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN, maxLength: 63, errorMessage: "must be a layer name such as 'emea'" }),
    /** One person per turn, in order. */
    users: Type.Optional(Type.Array(UserName, { maxItems: 200 })),
    /** Or several people per turn: each entry is on call together. */
    groups: Type.Optional(Type.Array(Type.Array(UserName, { minItems: 1, maxItems: 20 }), { maxItems: 200 })),
    /** How long each turn lasts: `1w`, `1d`, `12h`, `8h`, `2w`... */
    turn: Type.String({ format: 'duration' }),
    handoff: Type.Object({ weekday: Type.Optional(Weekday), time: ClockTime }, { additionalProperties: false }),
    /** `YYYY-MM-DD` or an ISO date-time, read in the layer's zone. */
    start: Type.String({ minLength: 10, maxLength: 40 }),
    end: Type.Optional(Type.String({ minLength: 10, maxLength: 40 })),
    /** Defaults to the schedule's zone; follow-the-sun layers each live in their own. */
    timeZone: Type.Optional(Type.String({ format: 'time-zone' })),
    /** The layer has someone only inside these windows (their union). */
    restrictions: Type.Optional(Type.Array(Restriction, { maxItems: 50 })),
  },
  { additionalProperties: false },
);
export type Layer = Static<typeof Layer>;

export const ScheduleSpec = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    timeZone: Type.String({ format: 'time-zone' }),
    /** Later layers are higher: where a higher layer has someone, it wins. */
    layers: Type.Array(Layer, { minItems: 1, maxItems: 20 }),
  },
  { additionalProperties: false },
);
export type ScheduleSpec = Static<typeof ScheduleSpec>;
