import { performance } from 'node:perf_hooks';
import { type AnomalySpec, createStreamingDetector, detect, lookbackMs } from '../src/modules/alerting/anomaly/index.js';
import { type BenchResult, percentile } from './harness.js';
import { loadNab } from './nab/load.js';
import { onsets, optimiseOnsetThreshold, optimiseThreshold, PROFILES, pointRoles, scoreFile } from './nab/scoring.js';

// The NAB subset (see /work/shared/nab/README.md) scored with our re-implementation of NAB's scoring
// (bench/nab/scoring.ts). Each detector is the product's streaming detector, fed every file point by point
// with no knowledge of the file; its 0..1 score is what the per-profile threshold sweep optimises.

/** Published standard-profile scores on the full 58-file corpus (from the subset's README). */
const PUBLISHED: Array<[string, number]> = [
  ['ARTime', 74.9],
  ['Numenta HTM', 70.5],
  ['CAD OSE', 69.9],
  ['earthgecko Skyline', 58.2],
  ['KNN CAD', 58.0],
  ['Relative Entropy', 54.6],
  ['Random Cut Forest', 51.7],
  ['Twitter ADVec', 47.1],
  ['Windowed Gaussian', 39.6],
  ['Etsy Skyline', 35.7],
  ['Bayesian changepoint', 17.7],
  ['random', 11.0],
];

// Windows are long on purpose: NAB charges every false positive, and a band built on days rather than an hour
// is not surprised by each busy hour. The product's defaults stay short (a rule judges minutes-old data).
export const NAB_DETECTORS: Array<{ name: string; spec: AnomalySpec }> = [
  { name: 'robust', spec: { method: 'robust', window: '5d' } },
  { name: 'seasonal', spec: { method: 'seasonal', season: '1d', seasons: 2, window: '6h' } },
  { name: 'changepoint', spec: { method: 'changepoint', window: '1d', recent: '1h' } },
  {
    name: 'ensemble (all)',
    spec: {
      method: 'ensemble',
      combine: 'all',
      members: [
        { method: 'robust', window: '5d' },
        { method: 'seasonal', season: '1d', seasons: 2, window: '6h' },
      ],
    },
  },
  // The same methods judged against each series' own recent deviations (spec.ts, `likelihood`, defaults).
  { name: 'robust + likelihood', spec: { method: 'robust', window: '5d', likelihood: {} } },
  { name: 'seasonal + likelihood', spec: { method: 'seasonal', season: '1d', seasons: 2, window: '6h', likelihood: {} } },
  { name: 'changepoint + likelihood', spec: { method: 'changepoint', window: '1d', recent: '1h', likelihood: {} } },
  {
    name: 'ensemble (any) + likelihood',
    spec: {
      method: 'ensemble',
      combine: 'any',
      likelihood: {},
      members: [
        { method: 'seasonal', season: '1d', seasons: 2, window: '6h' },
        { method: 'changepoint', window: '1d', recent: '1h' },
      ],
    },
  },
];

/**
 * What one rule evaluation costs: `detect` over the history a rule fetches (the detector's lookback, NAB's
 * 5-minute points) ending at a few places in each file. Milliseconds, median and maximum.
 */
function detectCost(spec: AnomalySpec, files: ReturnType<typeof loadNab>): { p50: number; max: number; points: number } {
  const back = lookbackMs(spec);
  const times: number[] = [];
  let points = 0;
  for (const f of files) {
    for (const at of [0.5, 0.75, 1]) {
      const end = Math.max(1, Math.floor(at * f.length));
      let start = end - 1;
      while (start > 0 && f.t[start - 1]! >= f.t[end - 1]! - back) start--;
      const history = { t: f.t.slice(start, end), v: f.v.slice(start, end) };
      const began = performance.now();
      detect(spec, history);
      times.push(performance.now() - began);
      points = Math.max(points, end - start);
    }
  }
  return { p50: percentile(times, 50), max: Math.max(...times), points };
}

export async function run(): Promise<BenchResult> {
  const files = loadNab();
  const roles = files.map((f) => pointRoles(f));
  const only = process.env.BENCH_ANOMALY_ONLY?.split(',');
  const rows: BenchResult['rows'] = [];
  const perFileNotes: string[] = [];
  for (const d of NAB_DETECTORS) {
    if (only && !only.includes(d.name)) continue;
    const started = performance.now();
    const scores = files.map((f) => {
      const detector = createStreamingDetector(d.spec);
      const out = new Float64Array(f.length);
      for (let i = 0; i < f.length; i++) out[i] = detector.push(f.t[i]!, f.v[i]!).score;
      return out;
    });
    const seconds = (performance.now() - started) / 1000;
    const points = files.reduce((s, f) => s + f.length, 0);
    const cost = detectCost(d.spec, files);
    // Two readings of a detection: NAB's own (every point at or above θ), and an alert's (the point where it
    // starts firing; a firing alert does not page again), which is how opsdeck uses these detectors.
    for (const mode of ['points', 'onsets'] as const) {
      const row: Record<string, string | number> = { detector: d.name, detections: mode };
      for (const p of PROFILES) {
        const best = mode === 'points' ? optimiseThreshold(roles, scores, p) : optimiseOnsetThreshold(roles, scores, p);
        row[p.name] = Math.round(best.normalised * 10) / 10;
        row[`θ ${p.name}`] = Math.round(best.threshold * 1000) / 1000;
      }
      row['runtime s'] = Math.round(seconds * 100) / 100;
      row['µs/point'] = Math.round((seconds * 1e6) / points);
      row['detect ms p50'] = Math.round(cost.p50 * 10) / 10;
      row['detect ms max'] = Math.round(cost.max * 10) / 10;
      row['history pts'] = cost.points;
      rows.push(row);
    }
    if (process.env.BENCH_ANOMALY_PER_FILE) {
      const best = optimiseOnsetThreshold(roles, scores, PROFILES[0]!);
      files.forEach((f, k) => {
        const hits = onsets(scores[k]!, best.threshold, roles[k]!.probation);
        const raw = scoreFile(roles[k]!, hits, PROFILES[0]!);
        perFileNotes.push(`${d.name} ${f.name}: ${raw.toFixed(2)} (windows ${f.windows.length}, detections ${hits.length})`);
      });
    }
  }
  for (const [name, score] of PUBLISHED) rows.push({ detector: `(published) ${name}`, detections: 'points', standard: score });
  const windows = files.reduce((s, f) => s + f.windows.length, 0);
  return {
    name: 'anomaly',
    rows,
    notes: [
      `${files.length} NAB files, ${windows} anomaly windows, ${files.reduce((s, f) => s + f.length, 0)} points; one threshold θ per profile over all files`,
      '(published) rows: standard profile on the full 58-file corpus, as listed in the subset README; comparable in kind, not exactly',
      'runtime s, µs/point: the streaming detector over every file; detect ms: one detect() over a rule-sized history (the detector lookback, history pts at most) at 3 points per file',
      'onsets: θ chosen over 400 score quantiles (exact sweep for points); per-file standard scores with BENCH_ANOMALY_PER_FILE=1',
      ...perFileNotes,
    ],
  };
}
