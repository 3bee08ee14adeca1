import { type Command, InvalidArgumentError } from 'commander';
import type { DoraMetrics, DoraReport } from '../modules/delivery/dora/index.js';
import { outputOption } from './args.js';
import type { Cli } from './context.js';
import { parseDuration } from './duration.js';
import { type OutputFormat, render } from './output.js';

/** `30d`, `12w` or an ISO time: passed to the server as is, checked here first. */
export function doraSinceArg(value: string): string {
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) return value;
  try {
    parseDuration(value);
  } catch {
    throw new InvalidArgumentError('expected a duration such as 30d or 12w, or an ISO-8601 time');
  }
  if (!/^(?:\d+(?:ms|s|m|h|d|w))+$/.test(value)) throw new InvalidArgumentError('expected whole units, e.g. 30d or 2w3d');
  return value;
}

/** `2h 5m`, `3d 4h`, `45s`: the largest unit and the next one, enough to compare lead times. */
export function formatSpan(ms: number | null): string {
  if (ms === null) return '-';
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  const first = units.findIndex(([, size]) => ms >= size);
  if (first < 0) return `${Math.round(ms)}ms`;
  const [unit, size] = units[first]!;
  const whole = Math.floor(ms / size);
  const next = units[first + 1];
  const rest = next ? Math.floor((ms - whole * size) / next[1]) : 0;
  return rest > 0 ? `${whole}${unit} ${rest}${next![0]}` : `${whole}${unit}`;
}

const band = (b: string | null) => (b ? ` (${b})` : '');

export function doraRow(name: string, m: DoraMetrics): string[] {
  const f = m.deploymentFrequency;
  const cfr = m.changeFailureRate;
  return [
    name,
    String(f.deployments),
    `${f.perDay >= 1 ? f.perDay.toFixed(1) : f.perDay.toFixed(2)}/day${band(f.band)}`,
    `${formatSpan(m.leadTime.medianMs)}${band(m.leadTime.band)}`,
    `${cfr.ratio === null ? '-' : `${(cfr.ratio * 100).toFixed(1)}% (${cfr.failures}/${cfr.finished})`}${band(cfr.band)}`,
    `${formatSpan(m.timeToRestore.medianMs)}${band(m.timeToRestore.band)}`,
  ];
}

/** `opsdeck dora [--service S] [--since 30d]`: the four DORA metrics with their performance bands. */
export function registerDoraCommand(program: Command, cli: Cli): void {
  program
    .command('dora')
    .description('DORA metrics from opsdeck’s own records: deploy frequency, lead time, change failure rate, time to restore')
    .option('--service <service>', 'only this service')
    .option('--since <window>', 'the window: a duration back from now (30d, 12w) or an ISO time', doraSinceArg, '30d')
    .addOption(outputOption())
    .action(async (opts: { service?: string; since: string; output: OutputFormat }, command: Command) => {
      const report = await cli.client(command).get<DoraReport>('/api/v1/dora', { service: opts.service, since: opts.since });
      cli.print(
        render(opts.output, report, {
          headers: ['SERVICE', 'DEPLOYS', 'FREQUENCY', 'LEAD TIME (median)', 'CHANGE FAILURE RATE', 'TIME TO RESTORE (median)'],
          rows: (r) =>
            r.services.length === 0
              ? []
              : [...r.services.map((s) => doraRow(s.service, s)), ...(opts.service ? [] : [doraRow('(all)', r.overall)])],
          empty: 'no rollouts in this window',
        }),
      );
    });
}
