import { type Static, type TSchema, Type } from '@sinclair/typebox';

const Duration = Type.String({ pattern: '^([0-9]+(ms|s|m|h|d|w))+$', errorMessage: "must be a duration such as '30s' or '5m'" });
const Matchers = Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { maxItems: 50 });

export interface RouteNode {
  receiver?: string;
  matchers?: string[];
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  routes?: RouteNode[];
}

/** One node of the routing tree, Alertmanager's `route` with camelCase names; children recurse. */
export const RouteNodeSchema: TSchema = Type.Recursive((Self) =>
  Type.Object({
    /** Who gets the notification: an EscalationPolicy name (on-call), or `service` for the owning service's policy. */
    receiver: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    matchers: Type.Optional(Matchers),
    groupWait: Type.Optional(Duration),
    groupInterval: Type.Optional(Duration),
    repeatInterval: Type.Optional(Duration),
    routes: Type.Optional(Type.Array(Self, { maxItems: 100 })),
  }),
);

export const AlertRoutingSpec = Type.Object({
  route: RouteNodeSchema,
  inhibitRules: Type.Optional(
    Type.Array(
      Type.Object({
        sourceMatchers: Matchers,
        targetMatchers: Matchers,
        /** Labels that must be equal on source and target, e.g. [service]. */
        equal: Type.Optional(Type.Array(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), { maxItems: 20 })),
      }),
      { maxItems: 100 },
    ),
  ),
});
export type AlertRoutingSpec = {
  route: RouteNode;
  inhibitRules?: Array<{ sourceMatchers: string[]; targetMatchers: string[]; equal?: string[] }>;
};
export type AlertRoutingStatic = Static<typeof AlertRoutingSpec>;

export const MaintenanceWindowSpec = Type.Object({
  /** Service names, or ['*'] for all. */
  services: Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { minItems: 1, maxItems: 500 }),
  start: Type.String({ minLength: 1 }),
  end: Type.String({ minLength: 1 }),
  comment: Type.Optional(Type.String({ maxLength: 2000 })),
});
export type MaintenanceWindowSpec = Static<typeof MaintenanceWindowSpec>;

export const ALERT_ROUTING_KIND = 'AlertRouting';
export const MAINTENANCE_KIND = 'MaintenanceWindow';
/** The routing tree lives in one AlertRouting resource with this name. */
export const ROUTING_NAME = 'default';
/** Alertmanager's defaults. */
export const ROUTE_DEFAULTS = { receiver: 'service', groupWait: '30s', groupInterval: '5m', repeatInterval: '4h' } as const;
