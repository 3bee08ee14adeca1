import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { INTERRUPTED, type PipelinesContext, runKey, systemLog } from './context.js';
import { finishStage } from './engine.js';
import type { RunStage } from './pipelines.schema.js';
import { getRun, getStage, type RunRow, staleCommands, updateStage } from './pipelines.store.js';
import { StageLogWriter } from './stage-logs.js';

/** How often a running command's runner proves it is alive, and when silence means it died. */
export const HEARTBEAT_MS = 10_000;
export const STALE_MS = 60_000;
/** SIGTERM first; what is still alive this long after gets SIGKILL. */
const KILL_GRACE_MS = 5_000;

/** Variables a command inherits from the server; nothing else (no tokens or database URLs leak into builds). */
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL', 'NODE_OPTIONS'];

const absolute = (path: string, base: string) => (isAbsolute(path) ? path : resolve(base, path));

/** The release's artifact directory: its `artifact`, else its `cwd`, else the service's runtime `cwd`, else the server's directory. */
export async function artifactDir(p: PipelinesContext, run: RunRow): Promise<string> {
  const { runtime, catalog } = p.delivery;
  const release = (await runtime.listReleases(run.service)).find((r) => r.version === run.version);
  if (!release) throw new Error(`release ${run.service}@${run.version} no longer exists`);
  const service = await catalog.getService(run.service);
  const serviceCwd = (service?.spec as { runtime?: { cwd?: string } } | undefined)?.runtime?.cwd;
  return absolute(release.overrides.artifact ?? release.overrides.cwd ?? serviceCwd ?? '.', p.serverCwd);
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (code !== null) return `exited with code ${code}`;
  return `killed by ${signal ?? 'a signal'}`;
}

/**
 * Runs a `run` stage's command once. A job that finds the command already started (the server
 * restarted or lost the job's lease mid-run) marks the stage failed instead of starting it again.
 */
export async function runCommand(p: PipelinesContext, runId: string, idx: number, signal: AbortSignal): Promise<void> {
  const { core, logger } = p.delivery;
  const db = core.db;
  const key = { runId, idx };
  const stage = await getStage(db, runId, idx);
  const run = await getRun(db, runId);
  if (!stage || !run || stage.state !== 'running') return;
  if (stage.command_started_at !== null) {
    await db.transaction().execute((tx) => finishStage(p, tx, key, { state: 'failed', reason: INTERRUPTED }));
    return;
  }
  const spec = (JSON.parse(stage.spec) as { run: RunStage }).run;
  let cwd: string;
  try {
    const dir = await artifactDir(p, run);
    cwd = spec.cwd ? absolute(spec.cwd, dir) : dir;
  } catch (err) {
    await db.transaction().execute((tx) => finishStage(p, tx, key, { state: 'failed', reason: (err as Error).message }));
    return;
  }
  const now = core.clock.now();
  // Claim the start in the database before spawning: from here on a re-run is an interruption.
  const claimed = await db
    .updateTable('pipeline_stages')
    .set({ command_started_at: now, heartbeat_at: now })
    .where('run_id', '=', runId)
    .where('idx', '=', idx)
    .where('state', '=', 'running')
    .where('command_started_at', 'is', null)
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) === 0) return;

  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name]!;
  Object.assign(env, {
    OPSDECK_PIPELINE_RUN: runId,
    OPSDECK_SERVICE: run.service,
    OPSDECK_VERSION: run.version,
    OPSDECK_STAGE: stage.name,
    OPSDECK_ARTIFACT_DIR: cwd,
    ...spec.env,
  });
  const logs = new StageLogWriter({ db, runId, idx, now: () => core.clock.now(), logger });
  const argv = [spec.command, ...(spec.args ?? [])].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  await systemLog(p, db, runId, idx, `$ ${argv}  (in ${cwd}, timeout ${spec.timeoutSeconds}s)`);

  let child: ReturnType<typeof spawn>;
  try {
    // Own process group (detached) so a timeout or cancel kills what the command started too.
    child = spawn(spec.command, spec.args ?? [], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    await db
      .transaction()
      .execute((tx) => finishStage(p, tx, key, { state: 'failed', reason: `could not start: ${(err as Error).message}` }));
    return;
  }
  let endedBy: 'timeout' | 'cancelled' | 'aborted' | undefined;
  const timers: (() => void)[] = [];
  const kill = (why: 'timeout' | 'cancelled' | 'aborted') => {
    if (endedBy || child.exitCode !== null || child.signalCode !== null) return;
    endedBy = why;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    signalGroup('SIGTERM');
    timers.push(core.clock.setTimer(KILL_GRACE_MS, () => signalGroup('SIGKILL')));
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => logs.write('stdout', chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => logs.write('stderr', chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((done) => {
    child.once('error', (error) => done({ code: null, signal: null, error }));
    child.once('close', (code, sig) => done({ code, signal: sig }));
    // A grandchild that left the group may hold the pipes open: don't wait for them forever.
    child.once('exit', (code, sig) => setTimeout(() => done({ code, signal: sig }), 2_000).unref());
  });
  if (child.pid) await updateStage(db, key, ['running'], { pid: child.pid });

  const beat = () => {
    timers.push(
      core.clock.setTimer(HEARTBEAT_MS, () => {
        void (async () => {
          try {
            const current = await getStage(db, runId, idx);
            // Cancelled on another replica (or finished by the watchdog): stop here too.
            if (current?.state !== 'running') kill('cancelled');
            else await updateStage(db, key, ['running'], { heartbeat_at: core.clock.now() });
          } catch (err) {
            logger.warn({ err, runId }, 'pipeline command heartbeat failed');
          }
          if (!endedBy) beat();
        })();
      }),
    );
  };
  beat();
  timers.push(core.clock.setTimer(spec.timeoutSeconds * 1000, () => kill('timeout')));
  const onAbort = () => kill('aborted');
  signal.addEventListener('abort', onAbort);
  p.running.set(runKey(runId, idx), () => kill('cancelled'));

  const result = await exited;
  for (const cancel of timers) cancel();
  signal.removeEventListener('abort', onAbort);
  p.running.delete(runKey(runId, idx));
  await logs.close();
  // Shutting down or lease lost: the next claim of this job (or the watchdog) records the interruption.
  if (endedBy === 'aborted' || endedBy === 'cancelled') return;
  const exitCode = result.code;
  let outcome: { state: 'succeeded' | 'failed'; reason: string | null };
  if (result.error) outcome = { state: 'failed', reason: `could not start '${spec.command}': ${result.error.message}` };
  else if (endedBy === 'timeout')
    outcome = { state: 'failed', reason: `timed out after ${spec.timeoutSeconds}s; its process group was killed` };
  else if (exitCode === 0) outcome = { state: 'succeeded', reason: null };
  else outcome = { state: 'failed', reason: describeExit(exitCode, result.signal) };
  await db.transaction().execute((tx) => finishStage(p, tx, key, { ...outcome, changes: { exit_code: exitCode } }));
}

/** Fails `run` stages whose runner stopped beating (its process was killed): never re-run, never stuck. */
export async function failStaleCommands(p: PipelinesContext): Promise<void> {
  const { core } = p.delivery;
  for (const stage of await staleCommands(core.db, core.clock.now() - STALE_MS)) {
    await core.db
      .transaction()
      .execute((tx) => finishStage(p, tx, { runId: stage.run_id, idx: stage.idx }, { state: 'failed', reason: INTERRUPTED }));
  }
}
