/**
 * Helpers for the supervisor tests: a supervisor on a temp state dir that records its events
 * and drains, fixture-server service specs, bounded polling, and a cleanup that kills every
 * fixture process a test started even when the test failed. No vitest imports: plain code.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { Supervisor } from '../contracts.js';
import type { AgentEvent, DesiredService, DesiredVersion, HealthCheckSpec, ShutdownSpec } from '../protocol.js';
import { PidFiles } from './pid-files.js';
import { isAlive } from './process-handle.js';
import { createSupervisor, type SupervisorTuning } from './supervisor.js';

export const FIXTURE_SERVER = resolve(fileURLToPath(new URL('../../../test/fixtures/fixture-server.mjs', import.meta.url)));

/** Short timings so real-process tests take seconds, not minutes. */
export const FAST_TUNING: Partial<SupervisorTuning> = {
  backoffBaseMs: 100,
  backoffMaxMs: 1_000,
  stableAfterMs: 60_000,
  quickExitMs: 1_000,
  startTimeoutMs: 10_000,
  adoptPollMs: 100,
};

export interface RecordedEvent extends Omit<AgentEvent, 'id' | 'at'> {
  at: number;
}

export interface DrainCall {
  service: string;
  instance: string;
  graceMs: number;
  at: number;
}

export interface Harness {
  supervisor: Supervisor;
  stateDir: string;
  events: RecordedEvent[];
  drains: DrainCall[];
  /** Another supervisor on the same state dir (a restarted agent). */
  restart(): Harness;
}

const started = new Set<number>();
const stateDirs = new Set<string>();
const supervisors = new Set<Supervisor>();

export interface HarnessOptions {
  tuning?: Partial<SupervisorTuning>;
  /** Runs inside the drain hook, after the call is recorded (e.g. a delay). */
  onDrain?: (call: DrainCall) => Promise<void>;
  stateDir?: string;
  clock?: Clock;
}

export function createHarness(options: HarnessOptions = {}): Harness {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'opsdeck-supervisor-'));
  stateDirs.add(stateDir);
  const events: RecordedEvent[] = [];
  const drains: DrainCall[] = [];
  const supervisor = createSupervisor({
    stateDir,
    logger: pino({ level: process.env.OPSDECK_TEST_LOG_LEVEL ?? 'silent' }),
    emit: (event) => {
      events.push({ ...event, at: event.at ?? Date.now() });
      const pid = event.data?.pid;
      if (event.type === 'instance.started' && typeof pid === 'number') started.add(pid);
    },
    tuning: { ...FAST_TUNING, ...options.tuning },
    clock: options.clock,
  });
  supervisor.setDrainHook(async (service, instance, graceMs) => {
    const call = { service, instance, graceMs, at: Date.now() };
    drains.push(call);
    await options.onDrain?.(call);
  });
  supervisors.add(supervisor);
  return { supervisor, stateDir, events, drains, restart: () => createHarness({ ...options, stateDir }) };
}

/** afterEach: stop every supervisor (bounded), then SIGKILL any fixture process still alive. */
export async function cleanupHarnesses(): Promise<void> {
  const stops = [...supervisors].map((s) => Promise.race([s.stop().catch(() => {}), delay(15_000)]));
  supervisors.clear();
  await Promise.all(stops);
  const pids = new Set(started);
  for (const dir of stateDirs) for (const record of new PidFiles(dir).list()) pids.add(record.pid);
  for (const pid of pids) if (isFixtureProcess(pid)) killGroup(pid);
  started.clear();
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  stateDirs.clear();
}

/** Alive and running the fixture server (not some process that reused the pid). */
export function isFixtureProcess(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fixture-server');
  } catch {
    return process.platform !== 'linux';
  }
}

function killGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface FixtureVersion {
  version: string;
  instances: number;
  env?: Record<string, string>;
  command?: string;
  args?: string[];
  cwd?: string;
}

export function fixtureService(
  name: string,
  versions: FixtureVersion[],
  options: { healthCheck?: Partial<HealthCheckSpec>; shutdown?: Partial<ShutdownSpec> } = {},
): DesiredService {
  const share = Math.round(1000 / Math.max(1, versions.length)) / 10;
  return {
    name,
    port: 0,
    healthCheck: { path: '/healthz', intervalMs: 100, timeoutMs: 500, failureThreshold: 2, ...options.healthCheck },
    shutdown: { signal: 'SIGTERM', gracePeriodMs: 3_000, ...options.shutdown },
    routing: { timeoutMs: 5_000, outlier: { consecutiveFailures: 5, baseEjectionMs: 1_000, maxEjectionPercent: 50 } },
    versions: versions.map(
      (v): DesiredVersion => ({
        version: v.version,
        weight: share,
        instances: v.instances,
        process: {
          command: v.command ?? process.execPath,
          args: v.args ?? [FIXTURE_SERVER],
          cwd: v.cwd ?? process.cwd(),
          env: v.env ?? {},
        },
      }),
    ),
  };
}

/** Polls until `fn` returns something truthy; throws with `what` after the deadline. */
export async function waitFor<T>(
  what: string,
  fn: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(options.intervalMs ?? 20);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface HttpResult {
  status: number;
  body: string;
}

export function httpGet(port: number, path: string): Promise<HttpResult> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Instances of a service/version currently ready. */
export function readyInstances(supervisor: Supervisor, service: string, version?: string) {
  return supervisor
    .instances()
    .filter((i) => i.service === service && (version === undefined || i.version === version) && i.state === 'ready');
}
