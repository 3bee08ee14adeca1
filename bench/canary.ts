import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { Fleet, fixtureServiceYaml, freePort, waitFor } from '../src/testing/fleet.js';
import { type BenchResult, percentile } from './harness.js';

// How fast the built-in judge rolls a bad canary back, and how often it rolls back a good one,
// with a control plane and an agent as separate processes and steady open-loop traffic through
// the agent's router. Times come from the rollout's own records: `startedAt` (the deploy) and the
// `restored` log entry (the canary's weight reached 0).

const RPS = Number(process.env.BENCH_CANARY_RPS ?? 200);
const BAD_RUNS = Number(process.env.BENCH_CANARY_BAD_RUNS ?? 5);
const IDENTICAL_RUNS = Number(process.env.BENCH_CANARY_RUNS ?? 20);
// The judge is always-valid, so looking every second costs no extra false rollbacks (case c checks it).
const INTERVAL = process.env.BENCH_CANARY_INTERVAL ?? '1s';
const SERVICE = 'bench';

interface LogEntry {
  at: number;
  type: string;
  step: number | null;
  data: Record<string, unknown>;
}
interface RolloutView {
  id: string;
  version: string;
  phase: string;
  reason: string | null;
  startedAt: number;
  finishedAt: number | null;
  timeToWeightZeroMs: number | null;
  log: LogEntry[];
}
interface VersionView {
  version: string;
  weight: number;
  desiredInstances: number;
  readyInstances: number;
}

const serviceYaml = (port: number, pause: string) =>
  fixtureServiceYaml({
    name: SERVICE,
    team: 'bench-team',
    port,
    extraSpec: `  delivery:
    strategy:
      canary:
        steps:
          - setWeight: 20
          - pause: { duration: ${pause} }
        analysis: { templates: [builtin], args: { interval: ${INTERVAL} } }
        progressDeadlineSeconds: 120
`,
  });

/** Open-loop traffic at `rps` (requests are sent on schedule, not when the previous one returns). */
function steadyLoad(url: string, rps: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const stats = { sent: 0, completed: 0, failures: 0, skipped: 0 };
  let inFlight = 0;
  const started = performance.now();
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * rps) - stats.sent - stats.skipped;
    for (let i = 0; i < due; i++) {
      if (inFlight >= 128) {
        stats.skipped++;
        continue;
      }
      stats.sent++;
      inFlight++;
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          inFlight--;
          stats.completed++;
          if ((res.statusCode ?? 0) >= 300) stats.failures++;
        });
      });
      req.on('error', () => {
        inFlight--;
        stats.completed++;
        stats.failures++;
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.end();
    }
  }, 5);
  return {
    stats,
    stop() {
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      agent.destroy();
      return { seconds, rate: stats.completed / seconds, failures: stats.failures, skipped: stats.skipped };
    },
  };
}

/** min/median/p90/max in seconds (0.1 s), or in ms with `unit: 'ms'`. */
function distribution(values: number[], unit: 's' | 'ms' = 's'): Record<string, number | string> {
  if (!values.length) return { unit, n: 0, min: '-', median: '-', p90: '-', max: '-' };
  const s = (ms: number) => (unit === 'ms' ? Math.round(ms) : Math.round(ms / 100) / 10);
  return {
    unit,
    n: values.length,
    min: s(Math.min(...values)),
    median: s(percentile(values, 50)),
    p90: s(percentile(values, 90)),
    max: s(Math.max(...values)),
  };
}

export async function run(): Promise<BenchResult> {
  const fleet = new Fleet();
  const loadAtStart = loadavg();
  let load: ReturnType<typeof steadyLoad> | undefined;
  try {
    await fleet.start();
    const port = await freePort();
    const target = `http://127.0.0.1:${port}/`;
    const rollout = () => fleet.json<RolloutView>(`/api/v1/services/${SERVICE}/rollout`);
    const versions = () => fleet.json<{ items: VersionView[] }>(`/api/v1/services/${SERVICE}/versions`).then((r) => r.items);
    /** Only `stable` runs: at 100% on its full size, everything else drained. */
    const settled = async (stable: string) => {
      const v = await versions();
      return v.every((x) =>
        x.version === stable ? x.weight === 100 && x.readyInstances === 2 : x.desiredInstances === 0 && x.weight === 0,
      );
    };

    let stable = '1.0.0';
    await fleet.apply(serviceYaml(port, '60s'));
    await waitFor('1.0.0 serving', () => settled(stable), 30_000);
    load = steadyLoad(target, RPS);
    await new Promise((r) => setTimeout(r, 3000));

    /** Deploys `version` (with env overrides) and waits for it to finish; the rollout's record. */
    const canary = async (version: string, set: Record<string, string>, timeoutMs: number): Promise<RolloutView> => {
      const rel = await fleet.api(`/api/v1/services/${SERVICE}/releases`, { method: 'POST', json: { version, set } });
      if (rel.status !== 201) throw new Error(`release ${version}: ${rel.status} ${await rel.text()}`);
      const dep = await fleet.api(`/api/v1/services/${SERVICE}/deploy`, { method: 'POST', json: { version } });
      if (dep.status !== 201) throw new Error(`deploy ${version}: ${dep.status} ${await dep.text()}`);
      const r = await waitFor(
        `${version} to finish`,
        async () => {
          const v = await rollout();
          return v.version === version && (v.phase === 'Succeeded' || v.phase === 'Aborted') ? v : undefined;
        },
        timeoutMs,
      );
      if (r.phase === 'Succeeded') stable = version;
      await waitFor(`${stable} alone again`, () => settled(stable), 60_000);
      return r;
    };
    const toWeightZero = (r: RolloutView) => {
      const restored = r.log.find((l) => l.type === 'restored');
      return (restored?.at ?? r.finishedAt ?? Number.NaN) - r.startedAt;
    };
    /** From the canary's first traffic (its setWeight step done) to weight 0. */
    const trafficToWeightZero = (r: RolloutView) => {
      const firstWeight = r.log.find((l) => l.type === 'step' && l.step === 0);
      const restored = r.log.find((l) => l.type === 'restored');
      return firstWeight && restored ? restored.at - firstWeight.at : Number.NaN;
    };

    const rows: Array<Record<string, string | number>> = [];
    const bad = async (label: string, env: Record<string, string>, prefix: string, targetS: number) => {
      const total: number[] = [];
      const fromTraffic: number[] = [];
      const fromDecision: number[] = [];
      const missed: string[] = [];
      for (let i = 0; i < BAD_RUNS; i++) {
        const r = await canary(`${prefix}.${i}`, env, 120_000);
        if (r.phase !== 'Aborted') {
          missed.push(r.version);
          continue;
        }
        total.push(toWeightZero(r));
        fromTraffic.push(trafficToWeightZero(r));
        if (r.timeToWeightZeroMs !== null) fromDecision.push(r.timeToWeightZeroMs);
        console.log(`  ${label} ${r.version}: weight 0 after ${toWeightZero(r)} ms (${r.reason})`);
        if (process.env.BENCH_CANARY_TRACE)
          for (const l of r.log) console.log(`    +${l.at - r.startedAt} ms ${l.type}${l.step === null ? '' : ` step ${l.step}`}`);
      }
      const met = total.length > 0 && missed.length === 0 && Math.max(...total) <= targetS * 1000;
      rows.push({ case: label, ...distribution(total), target: `≤ ${targetS} s`, met: String(met) });
      rows.push({ case: `  of which: canary traffic → weight 0`, ...distribution(fromTraffic.filter(Number.isFinite)) });
      rows.push({ case: `  of which: failing decision → weight 0`, ...distribution(fromDecision, 'ms') });
      if (missed.length) rows.push({ case: `  missed (promoted)`, n: missed.length, min: missed.join(' ') });
    };

    await bad('(a) 5% errors: deploy → canary weight 0', { 'env.ERROR_RATIO': '0.05' }, '2.0', 10);
    await bad('(b) +200 ms: deploy → canary weight 0', { 'env.ADDED_LATENCY_MS': '200' }, '3.0', 30);

    await fleet.apply(serviceYaml(port, '20s'));
    const aborted: string[] = [];
    const durations: number[] = [];
    for (let i = 0; i < IDENTICAL_RUNS; i++) {
      const r = await canary(`4.0.${i}`, {}, 180_000);
      durations.push((r.finishedAt ?? Number.NaN) - r.startedAt);
      if (r.phase === 'Aborted') aborted.push(`${r.version} (${r.reason})`);
      console.log(`  (c) ${r.version}: ${r.phase} after ${(r.finishedAt ?? 0) - r.startedAt} ms`);
    }
    rows.push({
      case: `(c) identical canaries aborted (of ${IDENTICAL_RUNS})`,
      unit: 'count',
      n: aborted.length,
      target: `0 of ${IDENTICAL_RUNS}`,
      met: String(aborted.length === 0),
    });
    rows.push({ case: '  identical canary: deploy → Succeeded', ...distribution(durations) });

    const achieved = load.stop();
    load = undefined;
    return {
      name: 'canary',
      rows,
      notes: [
        `Open-loop load at ${RPS} req/s through the agent's router: achieved ${achieved.rate.toFixed(0)} req/s over ${achieved.seconds.toFixed(0)} s (${achieved.failures} non-2xx or failed, mostly the bad canaries' injected errors; ${achieved.skipped} skipped at 128 in flight).`,
        `Strategy: setWeight 20 → pause → 100 with the built-in judge in the background (interval ${INTERVAL}); pause 60 s for (a)/(b), 20 s for (c). Stable: 2 instances; canary: 1.`,
        `(a)/(b): ${BAD_RUNS} canaries each, from the rollout's startedAt to its 'restored' log entry. (c): ${IDENTICAL_RUNS} canaries of the same build (BENCH_CANARY_RUNS).`,
        `Machine: loadavg at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}.`,
        ...(aborted.length ? [`False rollbacks: ${aborted.join('; ')}`] : []),
      ],
    };
  } finally {
    load?.stop();
    await fleet.stop();
  }
}
