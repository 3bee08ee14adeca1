import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Fault } from '../modules/runtime/index.js';
import { outputOption } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import type { Cli } from './context.js';
import { parseDuration } from './duration.js';
import { formatData, formatDuration, formatRelative, type OutputFormat, render } from './output.js';
import { servicePath } from './release.js';

/** `200ms`, `1s` → whole milliseconds. */
function millisArg(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  if (!Number.isInteger(ms)) throw new InvalidArgumentError('expected whole milliseconds');
  return ms;
}

/** `5m` → seconds; a fault lives at least a second and in whole seconds. */
function ttlArg(value: string): number {
  const ms = millisArg(value);
  if (ms < 1000 || ms % 1000 !== 0) throw new InvalidArgumentError('expected whole seconds, at least 1s (e.g. 30s, 5m)');
  return ms / 1000;
}

function percentArg(value: string): number {
  const n = Number(value.replace(/%$/, ''));
  if (!Number.isFinite(n) || n <= 0 || n > 100) throw new InvalidArgumentError('expected a percentage above 0 and at most 100');
  return n;
}

function statusArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 400 || n > 599) throw new InvalidArgumentError('expected an HTTP error status from 400 to 599');
  return n;
}

/** What a fault does, in a few words: `+200ms ±50ms`, `503`, `abort`. */
export function effect(f: Pick<Fault, 'kind' | 'latencyMs' | 'jitterMs' | 'status'>): string {
  if (f.kind === 'latency') return `+${f.latencyMs}ms${f.jitterMs ? ` ±${f.jitterMs}ms` : ''}`;
  if (f.kind === 'status') return String(f.status);
  return 'abort';
}

interface AddOptions {
  version?: string;
  latency?: number;
  jitter?: number;
  status?: number;
  abort?: boolean;
  percent: number;
  ttl: number;
  output: OutputFormat;
}

/** `opsdeck fault add|list|clear`: latency, errors and aborted connections injected at a service's router, for a TTL. */
export function registerFaultCommands(program: Command, cli: Cli): void {
  const fault = program.command('fault').description("inject faults into a service's traffic for a while");

  fault
    .command('add')
    .description('add a fault: one of --latency, --status or --abort, on --percent of requests, for --ttl')
    .argument('<service>', 'the service')
    .option('--version <version>', 'only requests routed to this version (default: all)')
    .option('--latency <duration>', 'delay responses by this much, e.g. 200ms', millisArg)
    .option('--jitter <duration>', 'with --latency: vary the delay by up to this much', millisArg)
    .option('--status <code>', 'answer with this HTTP status instead, e.g. 503', statusArg)
    .option('--abort', 'drop the connection without an answer')
    .addOption(new Option('--percent <p>', 'share of requests affected, 0.1 to 100').argParser(percentArg).makeOptionMandatory())
    .addOption(new Option('--ttl <duration>', 'how long it lasts, e.g. 5m').argParser(ttlArg).makeOptionMandatory())
    .addOption(outputOption())
    .action(async (service: string, opts: AddOptions, command: Command) => {
      const kinds = [opts.latency !== undefined && 'latency', opts.status !== undefined && 'status', opts.abort && 'abort'].filter(
        (k): k is string => typeof k === 'string',
      );
      if (kinds.length !== 1) throw new CliError('fault add needs exactly one of --latency, --status or --abort', EXIT_USAGE);
      if (opts.jitter !== undefined && opts.latency === undefined) throw new CliError('--jitter goes with --latency', EXIT_USAGE);
      const added = await cli.client(command).post<Fault>(servicePath(service, '/faults'), {
        kind: kinds[0],
        ...(opts.version ? { version: opts.version } : {}),
        ...(opts.latency !== undefined ? { latencyMs: opts.latency } : {}),
        ...(opts.jitter !== undefined ? { jitterMs: opts.jitter } : {}),
        ...(opts.status !== undefined ? { status: opts.status } : {}),
        percent: opts.percent,
        ttlSeconds: opts.ttl,
      });
      if (opts.output !== 'table') return cli.out(formatData(opts.output, added));
      const target = `${service}${added.version ? `@${added.version}` : ''}`;
      cli.out(
        `fault ${added.id} added: ${effect(added)} on ${added.percent}% of ${target} requests for ${formatDuration(opts.ttl * 1000)}`,
      );
    });

  fault
    .command('list')
    .description('list the active faults of a service')
    .argument('<service>', 'the service')
    .addOption(outputOption())
    .action(async (service: string, opts: { output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).get<{ items: Fault[] }>(servicePath(service, '/faults'));
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['ID', 'VERSION', 'KIND', 'EFFECT', 'PERCENT', 'EXPIRES', 'BY'],
          rows: (list) =>
            list.map((f) => [f.id, f.version ?? 'all', f.kind, effect(f), `${f.percent}%`, formatRelative(f.expiresAt, now), f.createdBy]),
          empty: `no active faults on ${service}`,
        }),
      );
    });

  fault
    .command('clear')
    .description('remove one fault by id, or every fault of the service')
    .argument('<service>', 'the service')
    .argument('[id]', 'the fault (default: all)')
    .action(async (service: string, id: string | undefined, _opts: unknown, command: Command) => {
      const { items } = await cli
        .client(command)
        .delete<{ items: Fault[] }>(servicePath(service, id ? `/faults/${encodeURIComponent(id)}` : '/faults'));
      if (id) cli.out(`fault ${id} cleared`);
      else
        cli.out(
          items.length ? `cleared ${items.length} fault${items.length === 1 ? '' : 's'} on ${service}` : `no active faults on ${service}`,
        );
    });
}
