import { systemActor } from '../../../core/auth/roles.js';
import { AppError } from '../../../core/errors.js';
import { API_VERSION } from '../../../core/resources/resources.js';
import { loadTest, smokeCheck } from './checks.js';
import { CHECK_JOB, type PipelinesContext, scheduleTick, systemLog } from './context.js';
import { finishStage } from './engine.js';
import type { StagingStage } from './pipelines.schema.js';
import { getRun, getStage, type RunRow, type StageRow, updateStage } from './pipelines.store.js';

// The staging stage: deploy → ready → check → teardown, each phase recorded on the stage row so
// a restart resumes where it was (deploy and teardown are idempotent; checks run again).

const POLL_MS = 2_000;
export const STAGING_LABEL = 'opsdeck.dev/staging-of';

export const stagingName = (service: string) => `${service}-staging`;

interface StagingOutcome {
  outcome: 'passed' | 'failed';
  reason: string | null;
  smoke?: unknown[];
  load?: unknown;
}

const specOf = (stage: StageRow) => (JSON.parse(stage.spec) as { staging: StagingStage }).staging;
const detailsOf = (stage: StageRow) => (stage.details ? (JSON.parse(stage.details) as StagingOutcome) : undefined);

/**
 * Applies `<service>-staging`: the Service's runtime section with this release's overrides
 * folded in, on the staging port, then gives the version the instances and all the traffic.
 */
export async function deployStaging(p: PipelinesContext, run: RunRow, spec: StagingStage): Promise<void> {
  const { core, catalog, runtime } = p.delivery;
  const source = await catalog.getService(run.service);
  const section = (source?.spec as { runtime?: Record<string, unknown> } | undefined)?.runtime;
  if (!source || !section) throw new Error(`Service '${run.service}' has no runtime section: there is nothing to run on staging`);
  const release = (await runtime.listReleases(run.service)).find((r) => r.version === run.version);
  if (!release) throw new Error(`release ${run.service}@${run.version} no longer exists`);
  const o = release.overrides;
  const cwd = o.artifact ?? o.cwd ?? (section.cwd as string | undefined);
  const name = stagingName(run.service);
  const staged = {
    ...section,
    command: o.command ?? section.command,
    args: o.args ?? section.args ?? [],
    ...(cwd ? { cwd } : {}),
    env: { ...(section.env as Record<string, string> | undefined), ...o.env },
    port: spec.port,
    // Instances come from the scale below, so an apply never starts an old version under this section.
    instances: 0,
  };
  await core.resources.apply(
    {
      documents: [
        {
          apiVersion: API_VERSION,
          kind: 'Service',
          metadata: { name, labels: { [STAGING_LABEL]: run.service }, annotations: { 'opsdeck.dev/version': run.version } },
          spec: { owner: source.spec.owner, description: `Staging copy of ${run.service}, managed by its pipeline runs`, runtime: staged },
        },
      ],
    },
    systemActor,
  );
  const releases = await runtime.listReleases(name);
  if (!releases.some((r) => r.version === run.version)) {
    try {
      await runtime.createRelease({ service: name, version: run.version, actor: systemActor });
    } catch (err) {
      // A new staging service got this version as its initial release meanwhile.
      if (!(err instanceof AppError && err.status === 409)) throw err;
    }
  }
  await runtime.scale({ service: name, version: run.version, instances: spec.instances ?? 1, actor: systemActor });
  let versions = await runtime.listVersions(name);
  if (versions.find((v) => v.version === run.version)?.weight !== 100) {
    versions = await runtime.setWeights(name, { [run.version]: 100 }, systemActor);
  }
  for (const v of versions) {
    if (v.version !== run.version && v.desiredInstances > 0) {
      await runtime.scale({ service: name, version: v.version, instances: 0, actor: systemActor });
    }
  }
}

/** Takes the staging copy out of the desired state (its runtime section removed; releases kept for the next run). */
export async function teardownStaging(p: PipelinesContext, service: string): Promise<void> {
  const { core } = p.delivery;
  const current = await core.resources.get('Service', stagingName(service));
  if (!current?.spec.runtime) return;
  const { runtime: _removed, ...spec } = current.spec;
  await core.resources.apply({ documents: [{ apiVersion: API_VERSION, kind: 'Service', metadata: current.metadata, spec }] }, systemActor);
}

async function toTeardown(p: PipelinesContext, stage: StageRow, outcome: StagingOutcome, from: string): Promise<void> {
  const { core } = p.delivery;
  await core.db.transaction().execute(async (tx) => {
    const moved = await updateStage(tx, { runId: stage.run_id, idx: stage.idx }, ['running'], {
      phase: 'teardown',
      details: JSON.stringify({ ...detailsOf(stage), ...outcome }),
    });
    if (!moved) return;
    await systemLog(p, tx, stage.run_id, stage.idx, `${from}: ${outcome.reason ?? 'checks passed'}; scaling the staging copy to zero`);
    await scheduleTick(p, stage.run_id, { tx });
  });
}

/** One step of a running staging stage, by phase. */
export async function tickStaging(p: PipelinesContext, run: RunRow, stage: StageRow): Promise<void> {
  const { core, runtime } = p.delivery;
  const spec = specOf(stage);
  const key = { runId: run.id, idx: stage.idx };
  const now = core.clock.now();
  switch (stage.phase) {
    case 'deploy': {
      try {
        await deployStaging(p, run, spec);
      } catch (err) {
        await toTeardown(p, stage, { outcome: 'failed', reason: `deploying to staging failed: ${(err as Error).message}` }, 'deploy');
        return;
      }
      await core.db.transaction().execute(async (tx) => {
        const deadline = now + (spec.readyTimeoutSeconds ?? 120) * 1000;
        if (!(await updateStage(tx, key, ['running'], { phase: 'ready', deadline_at: deadline }))) return;
        await systemLog(
          p,
          tx,
          run.id,
          stage.idx,
          `deployed ${run.version} to ${stagingName(run.service)} on port ${spec.port}; waiting for ${spec.instances ?? 1} ready instance(s)`,
        );
        await scheduleTick(p, run.id, { tx, runAt: now + POLL_MS });
      });
      return;
    }
    case 'ready': {
      const want = spec.instances ?? 1;
      const version = (await runtime.listVersions(stagingName(run.service))).find((v) => v.version === run.version);
      if (version && version.readyInstances >= want && version.health === 'healthy') {
        await core.db.transaction().execute(async (tx) => {
          if (!(await updateStage(tx, key, ['running'], { phase: 'check' }))) return;
          await systemLog(p, tx, run.id, stage.idx, `${version.readyInstances} instance(s) ready; running checks`);
          await core.jobs.schedule(CHECK_JOB, key, { tx });
        });
        return;
      }
      const state = version
        ? `${version.readyInstances}/${want} ready, health ${version.health}${version.reason ? ` (${version.reason})` : ''}`
        : 'not deployed';
      if (version && (version.health === 'failed' || version.health === 'crash-loop')) {
        await toTeardown(p, stage, { outcome: 'failed', reason: `staging copy is ${version.health}: ${state}` }, 'ready');
      } else if (stage.deadline_at !== null && now >= stage.deadline_at) {
        await toTeardown(
          p,
          stage,
          { outcome: 'failed', reason: `not ready within ${spec.readyTimeoutSeconds ?? 120}s: ${state}` },
          'ready',
        );
      } else {
        await scheduleTick(p, run.id, { runAt: now + POLL_MS });
      }
      return;
    }
    case 'teardown': {
      try {
        await teardownStaging(p, run.service);
      } catch (err) {
        p.delivery.logger.warn({ err, run: run.id }, 'taking the staging copy down failed');
      }
      const outcome = detailsOf(stage);
      await core.db.transaction().execute((tx) =>
        finishStage(p, tx, key, {
          state: outcome?.outcome === 'passed' ? 'succeeded' : 'failed',
          reason: outcome?.reason ?? (outcome?.outcome === 'passed' ? null : 'staging did not finish its checks'),
        }),
      );
      return;
    }
    default:
      // 'check': the check job owns the stage until it moves it to teardown.
      return;
  }
}

/** Smoke checks, then the load test; the outcome is recorded and the copy taken down. */
export async function runStagingChecks(p: PipelinesContext, runId: string, idx: number, signal: AbortSignal): Promise<void> {
  const { core } = p.delivery;
  const stage = await getStage(core.db, runId, idx);
  const run = await getRun(core.db, runId);
  if (!stage || !run || stage.state !== 'running' || stage.phase !== 'check') return;
  const spec = specOf(stage);
  const smoke = [];
  let failed: string | null = null;
  for (const check of spec.smoke) {
    const result = await smokeCheck(spec.port, check);
    smoke.push(result);
    await systemLog(
      p,
      core.db,
      runId,
      idx,
      `smoke ${result.ok ? 'ok' : 'FAILED'}: GET ${check.path} → ${result.status ?? '-'} in ${result.ms} ms${result.reason ? ` (${result.reason})` : ''}`,
    );
    if (!result.ok) {
      failed = result.reason;
      break;
    }
  }
  let load: Awaited<ReturnType<typeof loadTest>> | undefined;
  if (!failed && spec.loadTest) {
    const lt = spec.loadTest;
    await systemLog(
      p,
      core.db,
      runId,
      idx,
      `load test: ${lt.connections} connections for ${lt.durationSeconds}s against ${lt.path ?? '/'}`,
    );
    try {
      load = await loadTest(spec.port, lt, signal);
      await systemLog(
        p,
        core.db,
        runId,
        idx,
        `load test ${load.ok ? 'passed' : 'FAILED'}: ${load.requests} requests, error ratio ${load.errorRatio.toFixed(4)} (max ${lt.maxErrorRatio}), p99 ${load.p99Ms} ms (max ${lt.maxP99Ms})`,
      );
      if (!load.ok) failed = load.reason;
    } catch (err) {
      failed = `load test could not run: ${(err as Error).message}`;
    }
  }
  // Shutting down mid-check: leave the phase as it is; the job runs again after the restart.
  if (signal.aborted) throw new Error('staging checks interrupted');
  await toTeardown(p, stage, { outcome: failed ? 'failed' : 'passed', reason: failed, smoke, ...(load ? { load } : {}) }, 'checks');
}
