import { type Static, Type } from '@sinclair/typebox';
import { NAME_PATTERN } from '../../core/resources/kinds.js';
import type { StoredResource } from '../../core/resources/resources.js';
import type { Tier } from './tiers.js';

const nameOf = (kind: string) =>
  Type.String({ pattern: NAME_PATTERN, maxLength: 63, errorMessage: `must be the name of a ${kind} (a DNS label such as 'payments')` });

export const TeamName = nameOf('Team');
export const UserName = nameOf('User');
export const ServiceName = nameOf('Service');

const DisplayName = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 4000 });
const Duration = Type.String({ format: 'duration' });

export const CONTACT_TYPES = ['webhook', 'email', 'slack', 'sms'] as const;
export type ContactType = (typeof CONTACT_TYPES)[number];

/**
 * A way to reach a user. `name` lets notification rules (added to User by the on-call module)
 * refer to a contact; `url` is for webhook and slack, `address` for email and sms.
 */
export const Contact = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN, maxLength: 63, errorMessage: "must be a contact name such as 'phone' or 'work-email'" }),
    type: Type.Union(CONTACT_TYPES.map((t) => Type.Literal(t))),
    url: Type.Optional(Type.String({ format: 'url' })),
    address: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
  },
  { additionalProperties: false },
);
export type Contact = Static<typeof Contact>;

export const UserSpec = Type.Object(
  {
    displayName: Type.Optional(DisplayName),
    email: Type.String({ format: 'email' }),
    timeZone: Type.String({ format: 'time-zone' }),
    contacts: Type.Optional(Type.Array(Contact, { maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type UserSpec = Static<typeof UserSpec>;

export const TeamSpec = Type.Object(
  {
    displayName: Type.Optional(DisplayName),
    description: Type.Optional(Description),
    members: Type.Array(UserName, { uniqueItems: true }),
    slack: Type.Optional(
      Type.String({ pattern: '^#?[a-z0-9][a-z0-9._-]{0,79}$', errorMessage: "must be a Slack channel such as '#payments'" }),
    ),
    email: Type.Optional(Type.String({ format: 'email' })),
  },
  { additionalProperties: false },
);
export type TeamSpec = Static<typeof TeamSpec>;

export const Link = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 200 }),
    url: Type.String({ format: 'url' }),
  },
  { additionalProperties: false },
);

export const ServiceSpec = Type.Object(
  {
    owner: TeamName,
    description: Type.Optional(Description),
    tier: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, default: 3 })),
    rto: Type.Optional(Duration),
    rpo: Type.Optional(Duration),
    dependsOn: Type.Optional(Type.Array(ServiceName, { uniqueItems: true })),
    links: Type.Optional(Type.Array(Link, { maxItems: 50 })),
  },
  { additionalProperties: false },
);
export type ServiceSpec = Static<typeof ServiceSpec>;

/** A Service as stored: normalization has filled tier, RTO and RPO. */
export type NormalizedServiceSpec = ServiceSpec & { tier: Tier; rto: string; rpo: string };

export type CatalogService = StoredResource<NormalizedServiceSpec>;
export type CatalogTeam = StoredResource<TeamSpec>;
export type CatalogUser = StoredResource<UserSpec>;
