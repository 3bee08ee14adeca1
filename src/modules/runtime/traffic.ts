import type { Actor } from '../../core/auth/roles.js';
import { conflict, validationFailed } from '../../core/errors.js';
import { findRelease, type RuntimeContext, transact } from './context.js';
import { ensureSynced, primaryVersion } from './releases.js';
import { getServiceState, listAssignments, listReleases, putAssignment, putServiceState } from './runtime.store.js';
import { pointerSegment } from './spec.js';
import { listVersions, type VersionView } from './views.js';

// The mechanics delivery drives: traffic weights, instance counts and mirroring per version.

/** A percentage on the 0.1 grid as integer tenths; undefined when it is off the grid. */
export function toTenths(percent: number): number | undefined {
  const tenths = Math.round(percent * 10);
  return Math.abs(tenths - percent * 10) < 1e-6 ? tenths : undefined;
}

/** Weights in percent → tenths; 400 naming the field when one is off the 0.1 grid or they don't sum to 100. */
export function weightsInTenths(weights: Record<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  const issues = [];
  for (const [version, percent] of Object.entries(weights)) {
    const tenths = toTenths(percent);
    if (tenths === undefined || tenths < 0 || tenths > 1000) {
      issues.push({
        pointer: `/weights/${pointerSegment(version)}`,
        message: `must be a percentage from 0 to 100 in steps of 0.1 (got ${percent})`,
      });
    } else out.set(version, tenths);
  }
  if (issues.length) throw validationFailed(issues[0]!.message, issues);
  const sum = [...out.values()].reduce((a, b) => a + b, 0);
  if (sum !== 1000) {
    const message = `weights must sum to 100 (got ${sum / 10})`;
    throw validationFailed(message, [{ pointer: '/weights', message }]);
  }
  return out;
}

const percentMap = (m: Map<string, number>) => Object.fromEntries([...m].map(([v, t]) => [v, t / 10]));

/**
 * Replaces a service's traffic split: versions not named get 0. A version given traffic must have
 * instances (409 otherwise: scale it first) and must not be retired.
 */
export function setWeights(ctx: RuntimeContext, service: string, weights: Record<string, number>, actor: Actor): Promise<VersionView[]> {
  const wanted = weightsInTenths(weights);
  return transact(ctx, async (rt) => {
    await ensureSynced(ctx, rt, service);
    const releases = await listReleases(rt.tx, service);
    const assignments = new Map((await listAssignments(rt.tx, service)).map((a) => [a.version, a]));
    for (const [version, tenths] of wanted) {
      const release = findRelease(service, version, releases);
      if (tenths === 0) continue;
      if (release.state === 'retired') throw conflict(`version '${version}' of '${service}' is retired and cannot take traffic`);
      if ((assignments.get(version)?.instances ?? 0) === 0) {
        throw conflict(
          `version '${version}' of '${service}' has no instances to take traffic; scale it first: opsdeck scale ${service} --version ${version} --instances 1`,
          { service, version },
        );
      }
    }
    const previous = new Map([...assignments.values()].filter((a) => a.weight > 0).map((a) => [a.version, a.weight]));
    const next = new Map([...wanted].filter(([, t]) => t > 0));
    const same = previous.size === next.size && [...next].every(([v, t]) => previous.get(v) === t);
    if (!same) {
      for (const release of releases) {
        const a = assignments.get(release.version);
        const weight = wanted.get(release.version) ?? 0;
        if (!a && weight === 0) continue;
        if (a?.weight === weight) continue;
        await putAssignment(rt.tx, { service, version: release.version, weight, instances: a?.instances ?? 0 }, actor.name, rt.now);
      }
      await rt.record({
        actor,
        type: 'runtime.weights.changed',
        service,
        data: { weights: percentMap(next), previous: percentMap(previous) },
      });
      rt.changed();
    }
    return listVersions(ctx, service, rt.tx);
  });
}

export interface ScaleInput {
  service: string;
  /** Default: the version with the most traffic. */
  version?: string;
  instances: number;
  actor: Actor;
}

/** Sets a version's instance count. A version still taking traffic cannot go to 0 (409: move its traffic first). */
export function scale(ctx: RuntimeContext, input: ScaleInput): Promise<VersionView[]> {
  const { service, instances, actor } = input;
  return transact(ctx, async (rt) => {
    await ensureSynced(ctx, rt, service);
    const releases = await listReleases(rt.tx, service);
    const assignments = await listAssignments(rt.tx, service);
    const version = input.version ?? primaryVersion(assignments, releases) ?? releases.at(-1)?.version;
    if (version === undefined) throw conflict(`Service '${service}' has no releases yet`);
    const release = findRelease(service, version, releases);
    const current = assignments.find((a) => a.version === version) ?? { service, version, weight: 0, instances: 0 };
    if (release.state === 'retired' && instances > 0) throw conflict(`version '${version}' of '${service}' is retired`);
    if (instances === 0 && current.weight > 0) {
      throw conflict(
        `version '${version}' of '${service}' takes ${current.weight / 10}% of traffic; move it first (opsdeck traffic ${service} --weights ...)`,
        { service, version },
      );
    }
    if (current.instances !== instances) {
      await putAssignment(rt.tx, { ...current, instances }, actor.name, rt.now);
      await rt.record({
        actor,
        type: 'runtime.version.scaled',
        service,
        subject: `${service}@${version}`,
        data: { version, instances, previous: current.instances },
      });
      rt.changed();
    }
    return listVersions(ctx, service, rt.tx);
  });
}

export interface Mirror {
  version: string;
  /** Percent of requests copied, 0.1 precision. */
  percent: number;
}

/** Copies a share of a service's requests to a version (responses discarded); null stops mirroring. */
export function setMirror(ctx: RuntimeContext, service: string, mirror: Mirror | null, actor: Actor): Promise<Mirror | null> {
  const tenths = mirror ? toTenths(mirror.percent) : null;
  if (mirror && (tenths === undefined || tenths === null || tenths < 1 || tenths > 1000)) {
    const message = `must be a percentage from 0.1 to 100 in steps of 0.1 (got ${mirror.percent})`;
    throw validationFailed(message, [{ pointer: '/percent', message }]);
  }
  return transact(ctx, async (rt) => {
    await ensureSynced(ctx, rt, service);
    if (mirror) {
      const release = findRelease(service, mirror.version, await listReleases(rt.tx, service));
      const a = (await listAssignments(rt.tx, service)).find((x) => x.version === mirror.version);
      if (release.state === 'retired' || !a || a.instances === 0) {
        throw conflict(`version '${mirror.version}' of '${service}' has no instances to mirror to; scale it first`);
      }
    }
    const state = (await getServiceState(rt.tx, service))!;
    const previous = state.mirror_version ? { version: state.mirror_version, percent: (state.mirror_percent ?? 0) / 10 } : null;
    const next = mirror ? { version: mirror.version, percent: (tenths ?? 0) / 10 } : null;
    if (previous?.version !== next?.version || previous?.percent !== next?.percent) {
      await putServiceState(rt.tx, { ...state, mirror_version: next?.version ?? null, mirror_percent: tenths ?? null, updated_at: rt.now });
      await rt.record({ actor, type: 'runtime.mirror.changed', service, data: { mirror: next, previous } });
      rt.changed();
    }
    return next;
  });
}
