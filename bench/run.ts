import { type BenchResult, machine, printTable, writeResult } from './harness.js';

/** `npm run bench -- <name>|all`: each benchmark module exports `run(): Promise<BenchResult>`. */
const BENCHES: Record<string, () => Promise<{ run(): Promise<BenchResult> }>> = {
  jobs: () => import('./jobs.js'),
  api: () => import('./api.js'),
  router: () => import('./router.js'),
  canary: () => import('./canary.js'),
  anomaly: () => import('./anomaly.js'),
  intake: () => import('./intake.js'),
  ingest: () => import('./ingest.js'),
  query: () => import('./query.js'),
  paging: () => import('./paging.js'),
};

const name = process.argv[2];
if (!name || (name !== 'all' && !BENCHES[name])) {
  console.error(`usage: npm run bench -- <${[...Object.keys(BENCHES), 'all'].join('|')}>`);
  process.exit(2);
}
for (const n of name === 'all' ? Object.keys(BENCHES) : [name]) {
  const started = machine();
  console.log(`running ${n} on ${started.cores} cores, load ${started.loadavg.join(' ')}`);
  const result = await (await BENCHES[n]()).run();
  printTable(result);
  console.log(`  written to ${writeResult(result, started)}`);
}
process.exit(0);
