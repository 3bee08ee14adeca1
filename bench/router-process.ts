/**
 * opsdeck's router alone in its own process for bench/router.ts: one service with a weighted split
 * over the given upstreams. Prints `{"ready":<port>}` on stdout once listening.
 *
 *   node --import tsx bench/router-process.ts '{"versions":[{"version":"v1","weight":90,"port":4001}, ...]}'
 */
import { pino } from 'pino';
import type { DesiredService } from '../src/agent/protocol.js';
import { createRouter } from '../src/agent/router/index.js';

interface Config {
  port?: number;
  versions: Array<{ version: string; weight: number; port: number }>;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
// Logs go to stderr: stdout carries the ready line.
const router = createRouter({ logger: pino({ level: 'warn' }, process.stderr), emit: () => {} });
router.setEndpoints(
  'bench',
  new Map(config.versions.map((v) => [v.version, [{ id: `bench-${v.version}-1`, host: '127.0.0.1', port: v.port }]])),
);
const service: DesiredService = {
  name: 'bench',
  port: config.port ?? 0,
  healthCheck: { path: '/', intervalMs: 1000, timeoutMs: 1000, failureThreshold: 3 },
  shutdown: { signal: 'SIGTERM', gracePeriodMs: 1000 },
  routing: { timeoutMs: 30_000, outlier: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionPercent: 50 } },
  versions: config.versions.map((v) => ({
    version: v.version,
    weight: v.weight,
    instances: 1,
    process: { command: '', args: [], cwd: '/', env: {} },
  })),
};
await router.apply([service]);
const failure = router.failures()[0];
if (failure) throw new Error(`router failed to listen: ${failure.code} ${failure.message}`);
console.log(JSON.stringify({ ready: router.listeners()[0].port }));
process.on('SIGTERM', () => {
  void router.close().then(() => process.exit(0));
});
