import { type Command, InvalidArgumentError } from 'commander';
import type { RolloutView } from '../modules/delivery/index.js';
import { outputOption } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import type { Cli } from './context.js';
import { formatData, type OutputFormat } from './output.js';
import { servicePath } from './release.js';
import { phaseLine } from './rollout.js';

/** `--commit-time 2026-03-02T09:00:00Z` → the same ISO text, checked here so a typo is a usage error. */
export function isoTimeArg(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError('expected an ISO-8601 time with an offset, e.g. 2026-03-02T09:00:00Z');
  }
  return value;
}

interface DeployOptions {
  version: string;
  overrideFreeze?: boolean;
  reason?: string;
  commitTime?: string;
  output: OutputFormat;
}

/** `opsdeck deploy SERVICE --version V`: starts a rollout with the service's strategy. */
export function registerDeployCommand(program: Command, cli: Cli): void {
  program
    .command('deploy')
    .description("roll out a version with the service's strategy (creates the release from the service's runtime spec if missing)")
    .argument('<service>', 'the service')
    .requiredOption('--version <version>', 'the version, e.g. 1.2.0')
    .option('--override-freeze', 'deploy although the service is frozen (deployer; needs --reason; recorded in the audit log)')
    .option('--reason <text>', 'why the freeze is overridden')
    .option('--commit-time <iso>', 'when the change was committed: lead time (DORA) starts there', isoTimeArg)
    .addOption(outputOption())
    .action(async (service: string, opts: DeployOptions, command: Command) => {
      if (opts.overrideFreeze && !opts.reason)
        throw new CliError('--override-freeze needs --reason: the override is recorded in the audit log', EXIT_USAGE);
      const view = await cli.client(command).post<RolloutView>(servicePath(service, '/deploy'), {
        version: opts.version,
        ...(opts.overrideFreeze ? { overrideFreeze: { reason: opts.reason } } : {}),
        ...(opts.commitTime ? { commitTime: opts.commitTime } : {}),
      });
      if (opts.output !== 'table') {
        cli.out(formatData(opts.output, view));
        return;
      }
      const from = view.stable ? `${view.stable} → ${view.version}` : view.version;
      cli.out(`rollout ${view.id} of ${service} started: ${from} (${view.strategy}, ${view.source}, ${view.totalSteps} steps)`);
      cli.out(phaseLine(view, cli.now()));
      cli.out(`follow it with: opsdeck rollout status ${service} --watch`);
    });
}
