import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AgentAction } from '../agent/protocol.js';
import type { InstanceView, ServiceStats } from '../modules/runtime/index.js';
import { outputOption, positiveInt } from './args.js';
import type { Cli } from './context.js';
import { parseDuration } from './duration.js';
import { formatData, formatDuration, type OutputFormat, render } from './output.js';
import { servicePath } from './release.js';

const ms = (v: number | null) => (v === null ? '-' : `${v}ms`);
const percent = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(v > 0 && v < 0.001 ? 3 : 1)}%`);

/** `--window 60s`: checked here so a typo is a usage error, sent as written. */
function windowArg(value: string): string {
  try {
    parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

/** `opsdeck instances [kill]` and `opsdeck stats`: what runs and how it serves. */
export function registerInstancesCommands(program: Command, cli: Cli): void {
  const instances = program
    .command('instances')
    .description('list the instances of a service as its agents last reported them')
    .argument('<service>', 'the service')
    .addOption(outputOption())
    .action(async (service: string, opts: { output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).get<{ items: InstanceView[] }>(servicePath(service, '/instances'));
      cli.print(
        render(opts.output, items, {
          headers: ['VERSION', 'INSTANCE', 'PID', 'PORT', 'STATE', 'RESTARTS', 'UPTIME'],
          rows: (list) =>
            list.map((i) => [
              i.version,
              i.id,
              i.pid === null ? '-' : String(i.pid),
              String(i.port),
              i.stale ? `${i.state} (stale)` : i.state,
              String(i.restarts),
              i.uptimeMs === null ? '-' : formatDuration(i.uptimeMs),
            ]),
          empty: `no instances of ${service} reported`,
        }),
      );
    });

  instances
    .command('kill')
    .description('SIGKILL instances once (chaos); the agent replaces them like crashed ones')
    .argument('<service>', 'the service')
    .addOption(new Option('--count <n>', 'how many instances').argParser(positiveInt).makeOptionMandatory())
    .option('--version <version>', 'only instances of this version')
    .addOption(outputOption())
    .action(async (service: string, opts: { count: number; version?: string; output: OutputFormat }, command: Command) => {
      const action = await cli.client(command).post<AgentAction>(servicePath(service, '/instances/kill'), {
        count: opts.count,
        ...(opts.version ? { version: opts.version } : {}),
      });
      if (opts.output !== 'table') return cli.out(formatData(opts.output, action));
      const what = `${opts.count} instance${opts.count === 1 ? '' : 's'} of ${service}${opts.version ? `@${opts.version}` : ''}`;
      cli.out(`kill of ${what} requested (action ${action.id})`);
    });

  program
    .command('stats')
    .description('request rate, error ratio and latency per version, from the router')
    .argument('<service>', 'the service')
    .option('--window <duration>', 'over the last 30s, 5m, 1h ... (at most 24h)', windowArg, '60s')
    .addOption(outputOption())
    .action(async (service: string, opts: { window: string; output: OutputFormat }, command: Command) => {
      const stats = await cli.client(command).get<ServiceStats>(servicePath(service, '/stats'), { window: opts.window });
      if (opts.output !== 'table') return cli.out(formatData(opts.output, stats));
      cli.print(
        render('table', stats.versions, {
          headers: ['VERSION', 'RPS', 'REQUESTS', 'ERRORS', 'P50', 'P95', 'P99'],
          rows: (list) =>
            list.map((v) => [v.version, String(v.rate), String(v.requests), percent(v.errorRatio), ms(v.p50), ms(v.p95), ms(v.p99)]),
          empty: `no traffic for ${service} in the last ${opts.window}`,
        }),
      );
    });
}
