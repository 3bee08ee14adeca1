import { isAbsolute, resolve } from 'node:path';
import type { HealthCheckSpec, ProcessSpec, RoutingSpec, ShutdownSpec } from '../../agent/protocol.js';
import { canonicalJson, sha256Hex } from '../../core/canonical-json.js';
import type { FieldIssue } from '../../core/errors.js';
import type { ListLookup, ResourceDocument } from '../../core/resources/resources.js';
import { INITIAL_VERSION, type Overrides, type RuntimeSection, VERSION_ANNOTATION, VERSION_RE } from './runtime.schema.js';

/** A Service document as far as the runtime reads it. */
export interface RuntimeService {
  name: string;
  annotations?: Record<string, string>;
  runtime: RuntimeSection;
}

/** The Service's runtime section, or undefined when it has none. */
export function runtimeOf(doc: Pick<ResourceDocument, 'metadata' | 'spec'>): RuntimeService | undefined {
  const runtime = doc.spec.runtime as RuntimeSection | undefined;
  if (!runtime || typeof runtime !== 'object') return undefined;
  return { name: doc.metadata.name, annotations: doc.metadata.annotations, runtime };
}

/** The release `opsdeck apply` starts a new service with. */
export function initialVersion(service: RuntimeService): string {
  return service.annotations?.[VERSION_ANNOTATION] ?? INITIAL_VERSION;
}

/** Changes of this digest (runtime section, version annotation) are what the desired state sees. */
export function runtimeHash(service: RuntimeService): string {
  return sha256Hex(canonicalJson({ runtime: service.runtime, version: initialVersion(service) }));
}

const seconds = (s: number) => Math.round(s * 1000);

/** A path as given, made absolute against the server's working directory. */
export function absolutePath(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/** The process of one version: the service's runtime section with the release's overrides on top. */
export function processSpec(runtime: RuntimeSection, overrides: Overrides, serverCwd: string): ProcessSpec {
  const dir = overrides.artifact ?? overrides.cwd ?? runtime.cwd ?? '.';
  return {
    command: overrides.command ?? runtime.command,
    args: overrides.args ?? runtime.args ?? [],
    cwd: absolutePath(dir, serverCwd),
    env: { ...runtime.env, ...overrides.env },
  };
}

export function healthCheckSpec(runtime: RuntimeSection): HealthCheckSpec {
  const h = runtime.healthCheck;
  return {
    path: h?.path ?? '/healthz',
    intervalMs: seconds(h?.intervalSeconds ?? 2),
    timeoutMs: seconds(h?.timeoutSeconds ?? 1),
    failureThreshold: h?.failureThreshold ?? 3,
  };
}

export function shutdownSpec(runtime: RuntimeSection): ShutdownSpec {
  return { signal: runtime.shutdown?.signal ?? 'SIGTERM', gracePeriodMs: seconds(runtime.shutdown?.gracePeriodSeconds ?? 30) };
}

export function routingSpec(runtime: RuntimeSection, mirror: RoutingSpec['mirror']): RoutingSpec {
  const r = runtime.routing;
  const o = r?.outlier;
  return {
    ...(r?.stickiness && (r.stickiness.header || r.stickiness.cookie) ? { stickiness: r.stickiness } : {}),
    timeoutMs: seconds(r?.timeoutSeconds ?? 30),
    ...(mirror ? { mirror } : {}),
    outlier: {
      consecutiveFailures: o?.consecutiveFailures ?? 5,
      baseEjectionMs: seconds(o?.baseEjectionSeconds ?? 30),
      maxEjectionPercent: o?.maxEjectionPercent ?? 50,
    },
  };
}

/** A key as one JSON-pointer segment (`opsdeck.dev/version` → `opsdeck.dev~1version`). */
export const pointerSegment = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Apply-time checks of the runtime section the schema cannot express: the router port is unique
 * across services (as they will be after the batch), and the version annotation is a release name.
 */
export async function runtimeIssues(doc: ResourceDocument, list: ListLookup): Promise<FieldIssue[]> {
  const service = runtimeOf(doc);
  if (!service) return [];
  const issues: FieldIssue[] = [];
  const annotation = service.annotations?.[VERSION_ANNOTATION];
  if (annotation !== undefined && !VERSION_RE.test(annotation)) {
    issues.push({
      pointer: `/metadata/annotations/${pointerSegment(VERSION_ANNOTATION)}`,
      message: `must be a version such as '1.2.0' (letters, digits, '.', '+', '_', '-'; at most 64) (got '${annotation}')`,
    });
  }
  const port = service.runtime.port;
  const others = (await list(doc.kind))
    .filter((other) => other.metadata.name !== service.name && runtimeOf(other)?.runtime.port === port)
    .map((other) => other.metadata.name);
  if (others.length > 0) {
    issues.push({ pointer: '/spec/runtime/port', message: `port ${port} is already the router port of Service '${others[0]}'` });
  }
  return issues;
}
