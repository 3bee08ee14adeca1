import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { Release } from '../modules/runtime/index.js';
import { outputOption } from './args.js';
import type { Cli } from './context.js';
import { cell, formatAge, formatData, type OutputFormat, render } from './output.js';

/** `/api/v1/services/feed/releases` and the like. */
export const servicePath = (service: string, rest = '') => `/api/v1/services/${encodeURIComponent(service)}${rest}`;

/** Repeatable `--set env.KEY=VALUE` → `{ "env.KEY": "VALUE" }`; the value may contain '='. */
export function setArg(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`"${value}" is not KEY=VALUE (e.g. env.LOG_LEVEL=debug)`);
  return { ...previous, [value.slice(0, i)]: value.slice(i + 1) };
}

interface CreateOptions {
  version: string;
  set?: Record<string, string>;
  artifact?: string;
  output: OutputFormat;
}

/** `opsdeck release create|list`: versions of a service, each a named override of its runtime spec. */
export function registerReleaseCommands(program: Command, cli: Cli): void {
  const release = program.command('release').description("create and list a service's releases (versions)");

  release
    .command('create')
    .description('create a release; it runs nothing until scaled (opsdeck scale) and given traffic (opsdeck traffic)')
    .argument('<service>', 'the service')
    .requiredOption('--version <version>', 'the release name, e.g. 1.2.0')
    .option('--set <key=value>', 'override for this release: env.NAME=VALUE, command=..., cwd=... (repeatable)', setArg)
    .option('--artifact <dir>', "directory holding this release's build; becomes its working directory")
    .addOption(outputOption())
    .action(async (service: string, opts: CreateOptions, command: Command) => {
      const created = await cli.client(command).post<Release>(servicePath(service, '/releases'), {
        version: opts.version,
        ...(opts.set ? { set: opts.set } : {}),
        // Relative to where the command runs, not to the server's directory.
        ...(opts.artifact ? { artifact: resolve(cli.io.cwd, opts.artifact) } : {}),
      });
      if (opts.output === 'table') cli.out(`release ${service}@${created.version} created`);
      else cli.out(formatData(opts.output, created));
    });

  release
    .command('list')
    .description('list the releases of a service, oldest first')
    .argument('<service>', 'the service')
    .addOption(outputOption())
    .action(async (service: string, opts: { output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).get<{ items: Release[] }>(servicePath(service, '/releases'));
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['VERSION', 'STATE', 'CREATED BY', 'AGE', 'FAILED'],
          rows: (list) => list.map((r) => [r.version, r.state, r.createdBy, formatAge(r.createdAt, now), cell(r.failedReason)]),
          empty: `${service} has no releases`,
        }),
      );
    });
}
