import type { Command } from 'commander';
import type { DomainEvent } from '../core/events/events.js';
import { limitOption, outputOption, sinceOption } from './args.js';
import type { Cli } from './context.js';
import { followEvents, printEvent } from './events.js';
import { cell, formatAge, type OutputFormat, render } from './output.js';

interface ChangesOptions {
  service?: string;
  since?: number;
  limit?: number;
  watch?: boolean;
  output: OutputFormat;
}

/** `opsdeck changes`: what changed in production (applies, rollout steps, flag flips, faults), newest first. */
export function registerChangesCommands(program: Command, cli: Cli): void {
  program
    .command('changes')
    .description('the change timeline: what changed, when and by whom')
    .option('--service <name>', 'only changes that concern this service')
    .addOption(sinceOption())
    .addOption(limitOption('changes'))
    .option('-w, --watch', 'after the list, keep printing new changes as they happen (until Ctrl-C)')
    .addOption(outputOption())
    .action(async (opts: ChangesOptions, command: Command) => {
      const { items } = await cli.client(command).get<{ items: DomainEvent[] }>('/api/v1/changes', {
        service: opts.service,
        since: opts.since,
        limit: opts.limit,
      });
      if (!opts.watch) {
        const now = cli.now();
        cli.print(
          render(opts.output, items, {
            headers: ['AGE', 'TYPE', 'SERVICE', 'SUBJECT', 'ACTOR'],
            rows: (list) => list.map((e) => [formatAge(e.at, now), e.type, cell(e.service), cell(e.subject), cell(e.actor)]),
            empty: 'no changes match',
          }),
        );
        return;
      }
      // Watching reads top to bottom in time order, so the history is printed oldest first.
      const history = [...items].reverse();
      for (const event of history) printEvent(cli, opts.output, event);
      await followEvents(cli, command, {
        afterSeq: history.at(-1)?.seq,
        service: opts.service,
        accept: (event) => event.change && (!opts.service || event.service === opts.service),
        print: (event) => printEvent(cli, opts.output, event),
      });
    });
}
