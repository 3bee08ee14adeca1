import { type Command, InvalidArgumentError, Option } from 'commander';
import type { RunView } from '../modules/delivery/pipelines/index.js';
import { limitOption, outputOption } from './args.js';
import { CliError, EXIT_ERROR, EXIT_USAGE } from './cli-error.js';
import type { Cli } from './context.js';
import { cell, formatAge, formatData, type OutputFormat, render } from './output.js';
import { servicePath } from './release.js';

const runPath = (id: string, rest = '') => `/api/v1/pipeline-runs/${encodeURIComponent(id)}${rest}`;
const POLL_MS = 2_000;

/** `--commit-time 2026-07-06T08:00:00Z` (or epoch ms) → epoch ms. */
export function commitTimeArg(value: string): number {
  const at = /^\d+$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(at)) throw new InvalidArgumentError('expected an ISO-8601 time such as 2026-07-06T08:00:00Z, or epoch milliseconds');
  return at;
}

interface LogLine {
  seq: number;
  stage: string;
  stream: string;
  line: string;
}

/** One line per stage: `test      succeeded  exited with code 0`. */
export function stageLines(run: RunView): string[][] {
  return run.stages.map((s) => [s.name, s.type, s.state + (s.phase && s.state === 'running' ? ` (${s.phase})` : ''), cell(s.reason, 80)]);
}

function summary(run: RunView): string {
  const stages = run.stages.map((s) => s.name).join(' → ');
  return `pipeline run ${run.id}: ${run.service}@${run.version} through ${run.pipeline} (${stages}) is ${run.state}${run.reason ? `: ${run.reason}` : ''}`;
}

interface RunOptions {
  version: string;
  commitTime?: number;
  pipeline?: string;
  overrideFreeze?: boolean;
  reason?: string;
  wait?: boolean;
  output: OutputFormat;
}

/** `opsdeck pipeline run|runs|show|logs|approve|cancel`: versions through test → build → staging → production. */
export function registerPipelineCommands(program: Command, cli: Cli): void {
  const pipeline = program
    .command('pipeline')
    .description('run versions through their pipeline: tests, build, staging, approval, production');

  pipeline
    .command('run')
    .description("start a run of a version through the service's pipeline (spec.delivery.pipeline)")
    .argument('<service>', 'the service')
    .requiredOption('--version <version>', 'the version (release) to run, e.g. 1.2.0')
    .option('--commit-time <time>', 'when the change was committed: DORA lead time starts there', commitTimeArg)
    .option('--pipeline <name>', 'a Pipeline other than the one the service names')
    .option('--override-freeze', 'let the production stage deploy through a freeze (needs --reason)')
    .option('--reason <text>', 'why the freeze is overridden (audited)')
    .option('--wait', 'follow the run until it ends; exit 1 unless it succeeds')
    .addOption(outputOption())
    .action(async (service: string, opts: RunOptions, command: Command) => {
      if (opts.overrideFreeze && !opts.reason) throw new CliError('--override-freeze needs --reason', EXIT_USAGE);
      const client = cli.client(command);
      let run = await client.post<RunView>(servicePath(service, '/pipeline-runs'), {
        version: opts.version,
        ...(opts.commitTime !== undefined ? { commitTime: opts.commitTime } : {}),
        ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
        ...(opts.overrideFreeze ? { overrideFreeze: { reason: opts.reason } } : {}),
      });
      if (!opts.wait) {
        if (opts.output === 'table') cli.out(`${summary(run)}\nfollow it with: opsdeck pipeline logs ${run.id} --follow`);
        else cli.out(formatData(opts.output, run));
        return;
      }
      const seen = new Map<string, string>();
      const signal = cli.interruption();
      for (;;) {
        if (opts.output === 'table') {
          for (const s of run.stages) {
            const state = `${s.state}${s.reason ? `: ${s.reason}` : ''}`;
            if (s.state !== 'pending' && seen.get(s.name) !== state) cli.out(`${s.name}: ${state}`);
            seen.set(s.name, state);
          }
        }
        if (run.state !== 'running' || signal.aborted) break;
        await new Promise((r) => setTimeout(r, POLL_MS));
        run = await client.get<RunView>(runPath(run.id));
      }
      if (opts.output === 'table') cli.out(summary(run));
      else cli.out(formatData(opts.output, run));
      if (run.state !== 'succeeded') cli.exitCode = EXIT_ERROR;
    });

  pipeline
    .command('runs')
    .description('list the pipeline runs of a service, newest first')
    .argument('<service>', 'the service')
    .addOption(limitOption('runs'))
    .addOption(outputOption())
    .action(async (service: string, opts: { limit?: number; output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).get<{ items: RunView[] }>(servicePath(service, '/pipeline-runs'), { limit: opts.limit });
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['RUN', 'VERSION', 'PIPELINE', 'STATE', 'STAGE', 'BY', 'AGE', 'REASON'],
          rows: (list) =>
            list.map((r) => [
              r.id,
              r.version,
              r.pipeline,
              r.state,
              cell(r.stage),
              r.createdBy,
              formatAge(r.createdAt, now),
              cell(r.reason, 70),
            ]),
          empty: `${service} has no pipeline runs`,
        }),
      );
    });

  pipeline
    .command('show')
    .description('a run and its stages')
    .argument('<run>', 'the run id (pip_...)')
    .addOption(outputOption())
    .action(async (id: string, opts: { output: OutputFormat }, command: Command) => {
      const run = await cli.client(command).get<RunView>(runPath(id));
      if (opts.output !== 'table') {
        cli.out(formatData(opts.output, run));
        return;
      }
      cli.out(summary(run));
      cli.print(render('table', run, { headers: ['STAGE', 'TYPE', 'STATE', 'REASON'], rows: stageLines }));
    });

  pipeline
    .command('logs')
    .description("a run's captured output, all stages or one")
    .argument('<run>', 'the run id (pip_...)')
    .option('--stage <name>', 'only this stage')
    .option('-f, --follow', 'keep printing new output until the run ends')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (id: string, opts: { stage?: string; follow?: boolean; output: 'text' | 'json' }, command: Command) => {
      const client = cli.client(command);
      const signal = opts.follow ? cli.interruption() : undefined;
      let afterSeq: number | undefined;
      for (;;) {
        const { items } = await client.get<{ items: LogLine[] }>(runPath(id, '/logs'), { stage: opts.stage, afterSeq, limit: 5000 });
        for (const l of items) {
          if (opts.output === 'json') cli.out(JSON.stringify(l));
          else cli.out(opts.stage ? l.line : `${l.stage} | ${l.line}`);
          afterSeq = l.seq;
        }
        if (items.length === 5000) continue;
        if (!opts.follow || signal?.aborted) return;
        const run = await client.get<RunView>(runPath(id));
        if (run.state !== 'running') {
          // What was written between the last read and the end.
          const rest = await client.get<{ items: LogLine[] }>(runPath(id, '/logs'), { stage: opts.stage, afterSeq, limit: 5000 });
          for (const l of rest.items) cli.out(opts.output === 'json' ? JSON.stringify(l) : opts.stage ? l.line : `${l.stage} | ${l.line}`);
          return;
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    });

  pipeline
    .command('approve')
    .description('approve the approval stage a run waits at')
    .argument('<run>', 'the run id (pip_...)')
    .addOption(outputOption())
    .action(async (id: string, opts: { output: OutputFormat }, command: Command) => {
      const run = await cli.client(command).post<RunView>(runPath(id, '/approve'));
      if (opts.output === 'table') cli.out(`approved: ${summary(run)}`);
      else cli.out(formatData(opts.output, run));
    });

  pipeline
    .command('cancel')
    .description('cancel a run: a running command is killed, a staging copy scaled down (a started rollout goes on)')
    .argument('<run>', 'the run id (pip_...)')
    .option('--reason <text>', 'why')
    .addOption(outputOption())
    .action(async (id: string, opts: { reason?: string; output: OutputFormat }, command: Command) => {
      const run = await cli.client(command).post<RunView>(runPath(id, '/cancel'), opts.reason ? { reason: opts.reason } : {});
      if (opts.output === 'table') cli.out(summary(run));
      else cli.out(formatData(opts.output, run));
    });
}
