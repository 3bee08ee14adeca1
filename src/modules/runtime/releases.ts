import { type Actor, systemActor } from '../../core/auth/roles.js';
import { conflict, validationFailed } from '../../core/errors.js';
import type { Subscriber } from '../../core/events/events.js';
import { findRelease, type RuntimeContext, type RuntimeTx, requireService, runIn, runtimeService, transact } from './context.js';
import { ENV_KEY_PATTERN, type Overrides } from './runtime.schema.js';
import {
  type Assignment,
  deleteServiceState,
  getServiceState,
  insertRelease,
  listAssignments,
  listReleases,
  purgeService,
  putAssignment,
  putServiceState,
  type Release,
  setReleaseState,
} from './runtime.store.js';
import { initialVersion, pointerSegment, type RuntimeService, runtimeHash, runtimeOf } from './spec.js';

export interface CreateReleaseInput {
  service: string;
  version: string;
  overrides?: Overrides;
  /** `--set` pairs: `env.KEY`, `command`, `cwd` → value. */
  set?: Record<string, string>;
  /** A directory with this version's build; becomes its working directory. */
  artifact?: string;
  actor: Actor;
}

const ENV_KEY = new RegExp(ENV_KEY_PATTERN);

/** `{"env.LOG_LEVEL": "debug", "command": "node"}` → overrides; anything else is a 400 naming the key. */
export function overridesFromSet(set: Record<string, string>): Overrides {
  const out: Overrides = {};
  for (const [key, value] of Object.entries(set)) {
    const pointer = `/set/${pointerSegment(key)}`;
    if (value.includes('\0')) throw validationFailed(`${pointer} must not contain NUL`, [{ pointer, message: 'must not contain NUL' }]);
    if (key.startsWith('env.')) {
      const name = key.slice(4);
      if (!ENV_KEY.test(name)) {
        throw validationFailed(`'${name}' is not an environment variable name`, [
          { pointer, message: `'${name}' is not an environment variable name (letters, digits and '_', not starting with a digit)` },
        ]);
      }
      out.env = { ...out.env, [name]: value };
    } else if (key === 'command' || key === 'cwd') {
      if (!value) throw validationFailed(`${key} must not be empty`, [{ pointer, message: 'must not be empty' }]);
      out[key] = value;
    } else {
      const message = `unknown setting '${key}': use env.NAME, command or cwd (args go in overrides.args)`;
      throw validationFailed(message, [{ pointer, message }]);
    }
  }
  return out;
}

function mergeOverrides(input: CreateReleaseInput): Overrides {
  const fromSet = input.set ? overridesFromSet(input.set) : {};
  const merged: Overrides = { ...input.overrides, ...fromSet };
  const env = { ...input.overrides?.env, ...fromSet.env };
  if (Object.keys(env).length) merged.env = env;
  if (input.artifact !== undefined) merged.artifact = input.artifact;
  return merged;
}

/** Creates a release (a version) of a service; it runs nothing until it is given instances and weight. */
export function createRelease(ctx: RuntimeContext, input: CreateReleaseInput): Promise<Release> {
  const overrides = mergeOverrides(input);
  return transact(ctx, async (rt) => {
    await ensureSynced(ctx, rt, input.service);
    const releases = await listReleases(rt.tx, input.service);
    if (releases.some((r) => r.version === input.version)) {
      throw conflict(`Service '${input.service}' already has a release '${input.version}'`, {
        service: input.service,
        version: input.version,
      });
    }
    const release: Release = {
      service: input.service,
      version: input.version,
      overrides,
      createdAt: rt.now,
      createdBy: input.actor.name,
      state: 'active',
      failedReason: null,
      failedAt: null,
    };
    await insertRelease(rt.tx, release);
    await rt.record({
      actor: input.actor,
      type: 'runtime.release.created',
      service: input.service,
      subject: `${input.service}@${input.version}`,
      data: { version: input.version, overrides },
    });
    rt.changed();
    return release;
  });
}

/** The releases of a service, oldest first; 404 when the service does not exist. */
export async function listServiceReleases(ctx: RuntimeContext, service: string): Promise<Release[]> {
  await requireService(ctx, service);
  return listReleases(ctx.core.db, service);
}

/** Retires a release that runs nothing: it can no longer be given weight or instances. */
export function retireRelease(ctx: RuntimeContext, input: { service: string; version: string; actor: Actor }): Promise<Release> {
  return transact(ctx, async (rt) => {
    await ensureSynced(ctx, rt, input.service);
    const release = findRelease(input.service, input.version, await listReleases(rt.tx, input.service));
    const a = (await listAssignments(rt.tx, input.service)).find((x) => x.version === input.version);
    if (a && (a.weight > 0 || a.instances > 0)) {
      throw conflict(
        `version '${input.version}' of '${input.service}' still has ${a.weight / 10}% of traffic and ${a.instances} instances; move them first`,
      );
    }
    if (release.state === 'retired') return release;
    await setReleaseState(rt.tx, input, 'retired');
    await rt.record({
      actor: input.actor,
      type: 'runtime.release.retired',
      service: input.service,
      subject: `${input.service}@${input.version}`,
      data: { version: input.version },
    });
    rt.changed();
    return { ...release, state: 'retired' };
  });
}

/** The version that carries the most traffic; among equals, the newest. */
export function primaryVersion(assignments: Assignment[], releases: Release[]): string | undefined {
  const order = new Map(releases.map((r, i) => [r.version, i]));
  let best: Assignment | undefined;
  for (const a of assignments) {
    if (!order.has(a.version)) continue;
    if (!best || a.weight > best.weight || (a.weight === best.weight && order.get(a.version)! > order.get(best.version)!)) best = a;
  }
  return best?.version;
}

/**
 * Brings the runtime's tables in line with the Service as stored: a new service with a runtime
 * section gets its initial release with all the traffic and `spec.runtime.instances`; a changed
 * `instances` re-scales the primary version (apply wins over an earlier `scale`, as in kubectl);
 * a removed section leaves desired state; a deleted service takes its runtime state with it.
 */
export async function syncService(ctx: RuntimeContext, rt: RuntimeTx, name: string, by: string): Promise<void> {
  const doc = await ctx.catalog.getService(name, rt.tx);
  const state = await getServiceState(rt.tx, name);
  if (!doc) {
    if (await purgeService(rt.tx, name)) rt.changed();
    return;
  }
  const service = runtimeOf(doc);
  if (!service) {
    if (state) {
      await deleteServiceState(rt.tx, name);
      rt.changed();
    }
    return;
  }
  const hash = runtimeHash(service);
  const instances = service.runtime.instances ?? 1;
  const releases = await listReleases(rt.tx, name);
  const assignments = await listAssignments(rt.tx, name);
  if (releases.length === 0) {
    await startInitialRelease(rt, service, by);
  } else if (!assignments.some((a) => a.weight > 0)) {
    // The section came back after being removed: the newest active release takes the traffic.
    const newest = releases.filter((r) => r.state === 'active').at(-1) ?? releases.at(-1)!;
    await putAssignment(rt.tx, { service: name, version: newest.version, weight: 1000, instances }, by, rt.now);
  } else if (state?.spec_instances !== instances) {
    const primary = primaryVersion(assignments, releases)!;
    const before = assignments.find((a) => a.version === primary)!;
    if (before.instances !== instances) {
      await putAssignment(rt.tx, { ...before, instances }, by, rt.now);
      await rt.record({
        actor: systemActor,
        type: 'runtime.version.scaled',
        service: name,
        subject: `${name}@${primary}`,
        data: { version: primary, instances, previous: before.instances, reason: 'spec.runtime.instances applied', by },
      });
    }
  }
  if (!state || state.runtime_hash !== hash || state.spec_instances !== instances) rt.changed();
  await putServiceState(rt.tx, {
    service: name,
    spec_instances: instances,
    runtime_hash: hash,
    mirror_version: state?.mirror_version ?? null,
    mirror_percent: state?.mirror_percent ?? null,
    updated_at: rt.now,
  });
}

async function startInitialRelease(rt: RuntimeTx, service: RuntimeService, by: string): Promise<void> {
  const version = initialVersion(service);
  await insertRelease(rt.tx, {
    service: service.name,
    version,
    overrides: {},
    createdAt: rt.now,
    createdBy: by,
    state: 'active',
    failedReason: null,
    failedAt: null,
  });
  const instances = service.runtime.instances ?? 1;
  await putAssignment(rt.tx, { service: service.name, version, weight: 1000, instances }, by, rt.now);
  await rt.record({
    actor: systemActor,
    type: 'runtime.release.created',
    service: service.name,
    subject: `${service.name}@${version}`,
    data: { version, overrides: {}, initial: true, weight: 100, instances, by },
  });
}

/**
 * Syncs a service the subscriber has not seen yet, so API calls right after an apply act on the
 * same state the subscriber would have made. Also checks the service exists and has a runtime section.
 */
export async function ensureSynced(ctx: RuntimeContext, rt: RuntimeTx, name: string): Promise<RuntimeService> {
  const service = await runtimeService(ctx, name, rt.tx);
  if (!(await getServiceState(rt.tx, name))) await syncService(ctx, rt, name, 'system');
  return service;
}

/** Keeps the runtime in step with Service applies and deletes (durable: runs once per event, after restarts too). */
export function serviceSubscriber(ctx: RuntimeContext): Subscriber {
  return {
    id: 'runtime.services',
    types: ['resources.service.applied', 'resources.service.deleted'],
    async handle(event, tx) {
      const name = (event.data as { name?: unknown }).name;
      if (typeof name !== 'string') return;
      await runIn(ctx, tx, (rt) => syncService(ctx, rt, name, event.actor ?? 'system'));
    },
  };
}
