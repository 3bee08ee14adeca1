import { type Command, Option } from 'commander';
import type { JobRecord, JobState } from '../core/jobs/jobs.js';
import { limitOption, outputOption } from './args.js';
import type { Cli } from './context.js';
import { cell, formatAge, formatData, formatRelative, type OutputFormat, render } from './output.js';

const JOB_STATES: JobState[] = ['pending', 'running', 'done', 'dead', 'cancelled'];

/** `opsdeck jobs list|retry`: the durable timers and queues behind every delay in the product. */
export function registerJobsCommands(program: Command, cli: Cli): void {
  const jobs = program.command('jobs').description('inspect durable jobs and retry dead ones');

  jobs
    .command('list')
    .description('list jobs, e.g. dead letters with --state dead')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(JOB_STATES))
    .option('--kind <kind>', 'only jobs of this kind')
    .addOption(limitOption('jobs'))
    .addOption(outputOption())
    .action(async (opts: { state?: JobState; kind?: string; limit?: number; output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).get<{ items: JobRecord[] }>('/api/v1/jobs', {
        state: opts.state,
        kind: opts.kind,
        limit: opts.limit,
      });
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['ID', 'KIND', 'STATE', 'ATTEMPTS', 'RUN AT', 'AGE', 'LAST ERROR'],
          rows: (list) =>
            list.map((j) => [
              j.id,
              j.kind,
              j.state,
              `${j.attempts}/${j.maxAttempts}`,
              j.state === 'pending' ? formatRelative(j.runAt, now) : '-',
              formatAge(j.createdAt, now),
              cell(j.lastError),
            ]),
          empty: 'no jobs match',
        }),
      );
    });

  jobs
    .command('retry')
    .description('move a dead job back to pending so it runs again')
    .argument('<id>', 'the job id')
    .addOption(outputOption())
    .action(async (id: string, opts: { output: OutputFormat }, command: Command) => {
      const job = await cli.client(command).post<JobRecord>(`/api/v1/jobs/${encodeURIComponent(id)}/retry`);
      if (opts.output === 'table') cli.out(`job ${job.id} (${job.kind}) is ${job.state} again`);
      else cli.out(formatData(opts.output, job));
    });
}
