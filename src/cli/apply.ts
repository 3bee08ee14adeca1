import { type Command, Option } from 'commander';
import type { ApplyResult, DiffResult } from '../core/resources/resources.js';
import { EXIT_ERROR, EXIT_OK } from './cli-error.js';
import type { Cli } from './context.js';
import { collectFiles } from './files.js';
import { formatData } from './output.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function fileOption(): Option {
  return new Option('-f, --filename <path>', 'a file or directory of .yaml/.yml/.json manifests, or - for stdin (repeatable)')
    .argParser(collect)
    .makeOptionMandatory();
}

const ref = (r: { kind: string; name: string }) => `${r.kind.toLowerCase()}/${r.name}`;

/**
 * The server's unified diff, with `---`/`+++` headers added when it sent only hunks, so the output
 * works with `patch`, `delta` and friends.
 */
export function withHeaders(result: DiffResult): string {
  const body = result.diff.endsWith('\n') ? result.diff : `${result.diff}\n`;
  if (/^(---|Index:|diff )/m.test(body.split('\n', 3).join('\n'))) return body;
  const from = result.action === 'created' ? '/dev/null' : `live/${ref(result)}`;
  return `--- ${from}\n+++ file/${ref(result)}\n${body}`;
}

/** `opsdeck apply` and `opsdeck diff`: declarative resources, atomically per batch. */
export function registerApplyCommands(program: Command, cli: Cli): void {
  program
    .command('apply')
    .description('create or update resources from manifests; the whole batch applies or nothing does')
    .addOption(fileOption())
    .option('--dry-run', 'validate and report what would change, without applying')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml']).default('text'))
    .action(async (opts: { filename: string[]; dryRun?: boolean; output: 'text' | 'json' | 'yaml' }, command: Command) => {
      const files = await collectFiles(opts.filename, { cwd: cli.io.cwd, stdin: cli.io.stdin });
      const client = cli.client(command);
      const { results }: { results: Array<ApplyResult | DiffResult> } = opts.dryRun
        ? await client.post<{ results: DiffResult[] }>('/api/v1/resources/diff', { files })
        : await client.post<{ results: ApplyResult[] }>('/api/v1/resources/apply', { files });
      if (opts.output !== 'text') {
        cli.out(formatData(opts.output, results));
        return;
      }
      const suffix = opts.dryRun ? ' (dry run)' : '';
      for (const result of results) cli.out(`${ref(result)} ${result.action}${suffix}`);
    });

  program
    .command('diff')
    .description('show what apply would change as unified diffs; exits 0 when nothing would, 1 when something would')
    .addOption(fileOption())
    .action(async (opts: { filename: string[] }, command: Command) => {
      const files = await collectFiles(opts.filename, { cwd: cli.io.cwd, stdin: cli.io.stdin });
      const { results } = await cli.client(command).post<{ results: DiffResult[] }>('/api/v1/resources/diff', { files });
      const changed = results.filter((r) => r.action !== 'unchanged');
      for (const result of changed) cli.out(withHeaders(result));
      cli.exitCode = changed.length > 0 ? EXIT_ERROR : EXIT_OK;
    });
}
