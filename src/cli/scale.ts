import { type Command, InvalidArgumentError, Option } from 'commander';
import type { VersionView } from '../modules/runtime/index.js';
import { nonNegativeInt, outputOption } from './args.js';
import type { Cli } from './context.js';
import { cell, type OutputFormat, render } from './output.js';
import { servicePath } from './release.js';

/** `1.0.0=90,1.1.0=10` (repeatable) → `{ "1.0.0": 90, "1.1.0": 10 }`. */
export function weightsArg(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const out = { ...previous };
  for (const pair of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([^=\s]+)=(\d+(?:\.\d+)?)%?$/.exec(pair);
    if (!m) throw new InvalidArgumentError(`"${pair}" is not VERSION=PERCENT (e.g. 1.1.0=10)`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Prints a service's versions: traffic, instances, health. */
export function printVersions(cli: Cli, service: string, format: OutputFormat, items: VersionView[]): void {
  cli.print(
    render(format, items, {
      headers: ['VERSION', 'WEIGHT', 'DESIRED', 'READY', 'HEALTH', 'STATE'],
      rows: (list) =>
        list.map((v) => [
          v.version,
          `${v.weight}%${v.mirrorPercent ? ` (+${v.mirrorPercent}% mirror)` : ''}`,
          String(v.desiredInstances),
          String(v.readyInstances),
          v.health,
          v.failedReason ? `${v.state}, failed: ${cell(v.failedReason, 50)}` : v.state,
        ]),
      empty: `${service} has no versions`,
    }),
  );
}

/** `opsdeck scale` and `opsdeck traffic`: how many instances of each version run, and who gets which share of requests. */
export function registerScaleCommands(program: Command, cli: Cli): void {
  program
    .command('scale')
    .description('set the instance count of a version (default: the version with the most traffic)')
    .argument('<service>', 'the service')
    .addOption(new Option('--instances <n>', 'how many instances').argParser(nonNegativeInt).makeOptionMandatory())
    .option('--version <version>', 'which version')
    .addOption(outputOption())
    .action(async (service: string, opts: { instances: number; version?: string; output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).post<{ items: VersionView[] }>(servicePath(service, '/scale'), {
        instances: opts.instances,
        ...(opts.version ? { version: opts.version } : {}),
      });
      printVersions(cli, service, opts.output, items);
    });

  program
    .command('traffic')
    .description("show a service's versions, or split its traffic between them (percent, 0.1 steps, summing to 100)")
    .argument('<service>', 'the service')
    .option('--weights <version=percent,...>', 'the new split, e.g. 1.0.0=90,1.1.0=10; versions not named get 0', weightsArg)
    .addOption(outputOption())
    .action(async (service: string, opts: { weights?: Record<string, number>; output: OutputFormat }, command: Command) => {
      const client = cli.client(command);
      const { items } = opts.weights
        ? await client.put<{ items: VersionView[] }>(servicePath(service, '/traffic'), { weights: opts.weights })
        : await client.get<{ items: VersionView[] }>(servicePath(service, '/versions'));
      printVersions(cli, service, opts.output, items);
    });
}
