import { type Static, Type } from '@sinclair/typebox';

/** Where a rule, an analysis template or a service reads metrics from. */
export const MetricsProviderSpec = Type.Object({
  type: Type.Union([Type.Literal('builtin'), Type.Literal('prometheus')]),
  /** prometheus: base URL, e.g. http://prometheus:9090 (the /api/v1/... paths are appended). */
  url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  /** Credentials come from the server's environment, never from the resource itself. */
  auth: Type.Optional(
    Type.Union([
      Type.Object({ type: Type.Literal('bearer'), tokenEnv: Type.String({ pattern: '^[A-Z_][A-Z0-9_]*$' }) }),
      Type.Object({
        type: Type.Literal('basic'),
        username: Type.String({ minLength: 1 }),
        passwordEnv: Type.String({ pattern: '^[A-Z_][A-Z0-9_]*$' }),
      }),
    ]),
  ),
  timeoutSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 300 })),
});
export type MetricsProviderSpec = Static<typeof MetricsProviderSpec>;

/** `Service.spec.metrics`: the provider the service's queries go to by default. */
export const ServiceMetricsSection = Type.Object({
  provider: Type.String({ minLength: 1, maxLength: 63 }),
});
