import { type Static, Type } from '@sinclair/typebox';

/** Release names: semver and anything like it (`1.2.0`, `2026.01.07-1`, `v3+build.7`). */
export const VERSION_PATTERN = '^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$';
export const VERSION_RE = new RegExp(VERSION_PATTERN);
export const ENV_KEY_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** The annotation naming the release `opsdeck apply` starts a new service with. */
export const VERSION_ANNOTATION = 'opsdeck.dev/version';
export const INITIAL_VERSION = '0.0.0';

// No shell is ever involved (instances are spawned with an argument array), so a command is a
// program name or path: any non-empty string without NUL.
const Command = Type.String({ minLength: 1, maxLength: 4096, pattern: '^[^\\u0000]+$', errorMessage: 'must be a program name or path' });
const Arg = Type.String({ maxLength: 4096, pattern: '^[^\\u0000]*$', errorMessage: 'must not contain NUL' });
// Pattern-keyed records let keys that miss the pattern through unless told otherwise.
const Env = Type.Record(Type.String({ pattern: ENV_KEY_PATTERN }), Type.String({ maxLength: 32_768, pattern: '^[^\\u0000]*$' }), {
  additionalProperties: false,
});
const Cwd = Type.String({ minLength: 1, maxLength: 4096, pattern: '^[^\\u0000]+$', errorMessage: 'must be a directory path' });

export const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP'] as const;

/** `spec.runtime` of a Service: how the local process runtime runs and routes it. */
export const RuntimeSection = Type.Object(
  {
    kind: Type.Literal('process'),
    command: Command,
    args: Type.Optional(Type.Array(Arg, { maxItems: 256 })),
    /** Relative paths are resolved against the server's working directory when desired state is built. */
    cwd: Type.Optional(Cwd),
    env: Type.Optional(Env),
    instances: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 1 })),
    /** The public port of the service's router; unique across services. */
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    healthCheck: Type.Optional(
      Type.Object({
        path: Type.Optional(
          Type.String({ pattern: '^/', maxLength: 1024, default: '/healthz', errorMessage: "must be a path starting with '/'" }),
        ),
        intervalSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 3600, default: 2 })),
        timeoutSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 600, default: 1 })),
        failureThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 3 })),
      }),
    ),
    shutdown: Type.Optional(
      Type.Object({
        signal: Type.Optional(
          Type.Union(
            SIGNALS.map((s) => Type.Literal(s)),
            { default: 'SIGTERM' },
          ),
        ),
        gracePeriodSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 3600, default: 30 })),
      }),
    ),
    routing: Type.Optional(
      Type.Object({
        stickiness: Type.Optional(
          Type.Object({
            header: Type.Optional(
              Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", maxLength: 256, errorMessage: 'must be a header name' }),
            ),
            cookie: Type.Optional(
              Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", maxLength: 256, errorMessage: 'must be a cookie name' }),
            ),
          }),
        ),
        timeoutSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 3600, default: 30 })),
        outlier: Type.Optional(
          Type.Object({
            consecutiveFailures: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 5 })),
            baseEjectionSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 3600, default: 30 })),
            maxEjectionPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: 50 })),
          }),
        ),
      }),
    ),
  },
  { description: 'How the local process runtime runs this service and routes its traffic' },
);
export type RuntimeSection = Static<typeof RuntimeSection>;

/** What a release may change relative to the service's runtime section. */
export const Overrides = Type.Object(
  {
    command: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '^[^\\u0000]+$' })),
    args: Type.Optional(Type.Array(Type.String({ maxLength: 4096, pattern: '^[^\\u0000]*$' }), { maxItems: 256 })),
    cwd: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '^[^\\u0000]+$' })),
    env: Type.Optional(Env),
    /** A directory holding this version's build; it becomes the working directory. */
    artifact: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '^[^\\u0000]+$' })),
  },
  { additionalProperties: false },
);
export type Overrides = Static<typeof Overrides>;

const VersionName = Type.String({ pattern: VERSION_PATTERN });
/** Percent with 0.1 precision. */
const Percent = Type.Number({ minimum: 0.1, maximum: 100 });

export const CreateReleaseBody = Type.Object(
  {
    version: VersionName,
    /** `env.KEY`, `command` or `cwd` → value, as `--set` gives them. */
    set: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 300 }), Type.String({ maxLength: 32_768 }))),
    overrides: Type.Optional(Overrides),
    artifact: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  },
  { additionalProperties: false },
);
export type CreateReleaseBody = Static<typeof CreateReleaseBody>;

export const WeightsBody = Type.Object(
  { weights: Type.Record(VersionName, Type.Number({ minimum: 0, maximum: 100 }), { additionalProperties: false, minProperties: 1 }) },
  { additionalProperties: false },
);

export const ScaleBody = Type.Object(
  { instances: Type.Integer({ minimum: 0, maximum: 1000 }), version: Type.Optional(VersionName) },
  { additionalProperties: false },
);

export const MirrorBody = Type.Union([
  Type.Object({ version: VersionName, percent: Percent }, { additionalProperties: false }),
  Type.Null(),
]);

export const FAULT_KINDS = ['latency', 'status', 'abort'] as const;

export const FaultBody = Type.Object(
  {
    version: Type.Optional(VersionName),
    kind: Type.Union(FAULT_KINDS.map((k) => Type.Literal(k))),
    latencyMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
    jitterMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    status: Type.Optional(Type.Integer({ minimum: 400, maximum: 599 })),
    percent: Percent,
    ttlSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
);
export type FaultBody = Static<typeof FaultBody>;

export const KillBody = Type.Object(
  { count: Type.Integer({ minimum: 1, maximum: 1000 }), version: Type.Optional(VersionName) },
  { additionalProperties: false },
);

export const ServiceParams = Type.Object({ name: Type.String({ maxLength: 63 }) });

// The agent protocol (src/agent/protocol.ts) as schemas. Objects stay open to unknown fields so a
// newer agent's additions don't get its reports refused; every field we read is checked.
const Int = Type.Integer();
const NonNeg = Type.Integer({ minimum: 0 });
const Name = Type.String({ minLength: 1, maxLength: 256 });

const InstanceStatusSchema = Type.Object({
  id: Name,
  service: Name,
  version: Name,
  pid: Type.Union([Int, Type.Null()]),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  state: Type.Union(['starting', 'ready', 'unready', 'draining', 'stopped', 'crashed', 'backoff'].map((s) => Type.Literal(s))),
  restarts: NonNeg,
  startedAt: Int,
  readyAt: Type.Union([Int, Type.Null()]),
  lastExit: Type.Union([
    Type.Object({ code: Type.Union([Int, Type.Null()]), signal: Type.Union([Type.String(), Type.Null()]), at: Int }),
    Type.Null(),
  ]),
});

const VersionStatusSchema = Type.Object({
  service: Name,
  version: Name,
  health: Type.Union(['progressing', 'healthy', 'crash-loop', 'failed'].map((s) => Type.Literal(s))),
  ready: NonNeg,
  desired: NonNeg,
  reason: Type.Optional(Type.String({ maxLength: 65_536 })),
});

export const AGENT_EVENT_TYPES = [
  'instance.started',
  'instance.ready',
  'instance.crashed',
  'instance.restarted',
  'instance.killed',
  'instance.ejected',
  'instance.stopped',
  'version.crash-loop',
  'version.failed',
  'fault.expired',
  'router.failed',
] as const;

const AgentEventSchema = Type.Object({
  id: Name,
  type: Type.Union(AGENT_EVENT_TYPES.map((t) => Type.Literal(t))),
  at: Int,
  service: Name,
  version: Type.Optional(Name),
  instance: Type.Optional(Name),
  data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

const TrafficSchema = Type.Object({
  service: Name,
  version: Name,
  from: Int,
  to: Int,
  requests: NonNeg,
  byClass: Type.Record(Type.String({ maxLength: 16 }), NonNeg),
  latencyBuckets: Type.Array(NonNeg, { maxItems: 256 }),
});

const MAX_ITEMS = 10_000;

export const AgentReportBody = Type.Object({
  agentId: Type.String({ minLength: 1, maxLength: 200 }),
  agentUrl: Type.String({ minLength: 1, maxLength: 2048 }),
  appliedRevision: Int,
  at: Int,
  instances: Type.Array(InstanceStatusSchema, { maxItems: MAX_ITEMS }),
  versions: Type.Array(VersionStatusSchema, { maxItems: MAX_ITEMS }),
  events: Type.Array(AgentEventSchema, { maxItems: MAX_ITEMS }),
  traffic: Type.Array(TrafficSchema, { maxItems: MAX_ITEMS }),
  actionsDone: Type.Array(Type.String({ maxLength: 200 }), { maxItems: MAX_ITEMS }),
});
