import type { Command } from 'commander';
import type { FreezeView } from '../modules/delivery/freezes/index.js';
import { outputOption } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import type { Cli } from './context.js';
import { cell, formatData, formatRelative, type OutputFormat, render } from './output.js';

interface ListOptions {
  service?: string;
  at?: string;
  output: OutputFormat;
}

interface AddOptions {
  reason: string;
  key?: string;
  all?: boolean;
  output: OutputFormat;
}

/** `opsdeck freeze list|add|lift`: what is frozen, and manual emergency freezes. */
export function registerFreezeCommands(program: Command, cli: Cli): void {
  const freeze = program
    .command('freeze')
    .description('deploy freezes: list what is frozen, freeze a service or everything, lift a freeze');

  freeze
    .command('list')
    .description('freezes in force now: Freeze resources whose window is open, and freezes set through the API')
    .option('--service <service>', 'only freezes that apply to this service')
    .option('--at <time>', 'in force at this ISO-8601 instant instead of now (e.g. 2026-07-10T15:00:00+01:00)')
    .addOption(outputOption())
    .action(async (opts: ListOptions, command: Command) => {
      if (opts.at !== undefined && Number.isNaN(Date.parse(opts.at)))
        throw new CliError(`--at: "${opts.at}" is not an ISO-8601 time`, EXIT_USAGE);
      const { items } = await cli.client(command).get<{ items: FreezeView[] }>('/api/v1/freezes', {
        service: opts.service,
        at: opts.at === undefined ? undefined : new Date(opts.at).toISOString(),
      });
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['NAME', 'SOURCE', 'SERVICES', 'SINCE', 'UNTIL', 'REASON'],
          rows: (list) =>
            list.map((f) => [
              f.name,
              f.source,
              f.services.join(','),
              formatRelative(f.since, now),
              f.until === null ? (f.source === 'api' ? 'lifted by hand' : '-') : formatRelative(f.until, now),
              cell(f.reason, 70),
            ]),
          empty: opts.service ? `nothing freezes ${opts.service}` : 'nothing is frozen',
        }),
      );
    });

  freeze
    .command('add')
    .description('freeze a service (or --all) until lifted: deploys are refused unless a deployer overrides')
    .argument('[service]', 'the service to freeze')
    .option('--all', 'freeze every service')
    .requiredOption('--reason <text>', 'why (shown to whoever tries to deploy)')
    .option('--key <key>', 'a name to lift it by (default: manual:<id>)')
    .addOption(outputOption())
    .action(async (service: string | undefined, opts: AddOptions, command: Command) => {
      if (Boolean(service) === Boolean(opts.all)) throw new CliError('name a service, or pass --all to freeze every service', EXIT_USAGE);
      const created = await cli.client(command).post<FreezeView>('/api/v1/freezes', {
        service: opts.all ? '*' : service,
        reason: opts.reason,
        ...(opts.key ? { key: opts.key } : {}),
      });
      if (opts.output === 'table') {
        cli.out(`froze ${opts.all ? 'every service' : service} as ${created.name}; lift with: opsdeck freeze lift ${created.name}`);
      } else cli.out(formatData(opts.output, created));
    });

  freeze
    .command('lift')
    .description('lift a freeze set through the API (Freeze resources: opsdeck delete freeze NAME)')
    .argument('<key>', 'the freeze key, e.g. manual:01h... or incident:INC-12')
    .action(async (key: string, _opts: unknown, command: Command) => {
      await cli.client(command).delete(`/api/v1/freezes/${encodeURIComponent(key)}`);
      cli.out(`lifted ${key}`);
    });
}
