import { type Static, Type } from '@sinclair/typebox';

/** `Service.spec.scrape`: where and how often to read the service's Prometheus metrics. */
export const ScrapeSection = Type.Object({
  path: Type.Optional(Type.String({ pattern: '^/', maxLength: 512 })),
  intervalSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 3600 })),
  timeoutSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 600 })),
  /** Extra targets as `host:port` (scraped over http at `path`). */
  targets: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9.\\-\\[\\]:]+:[0-9]{1,5}$' }), { maxItems: 500 })),
  /** Scrape the service's runtime instances too (default true when it has a `runtime` section). */
  instances: Type.Optional(Type.Boolean()),
  /** Labels added to every sample of this service. */
  labels: Type.Optional(Type.Record(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), Type.String({ maxLength: 1024 }))),
});
export type ScrapeSection = Static<typeof ScrapeSection>;

export const SCRAPE_DEFAULTS = { path: '/metrics', intervalSeconds: 15, timeoutSeconds: 10 } as const;
