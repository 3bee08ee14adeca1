import type { Command } from 'commander';
import type { DomainEvent } from '../core/events/events.js';
import { limitOption, listArg, nonNegativeInt, outputOption } from './args.js';
import type { Cli } from './context.js';
import { cell, formatData, type OutputFormat, render } from './output.js';
import { watchStream } from './sse.js';

/** `2026-01-02 10:00:00Z`: watchers print absolute times, since a relative age goes stale on screen. */
export function timestamp(at: number): string {
  return `${new Date(at).toISOString().replace('T', ' ').slice(0, 19)}Z`;
}

/** One event per line with fixed-width columns, for output that grows while being watched. */
export function eventLine(event: DomainEvent): string {
  const who = event.actor ? `by ${event.actor}` : '';
  return [timestamp(event.at), event.type.padEnd(30), (event.service ?? '-').padEnd(16), (event.subject ?? '-').padEnd(24), who]
    .join('  ')
    .trimEnd();
}

/** Prints one watched event in the chosen format: a line, a JSON line (NDJSON), or a YAML document. */
export function printEvent(cli: Cli, format: OutputFormat, event: DomainEvent): void {
  if (format === 'json') cli.out(JSON.stringify(event));
  else if (format === 'yaml') cli.out(`---\n${formatData('yaml', event)}`);
  else cli.out(eventLine(event));
}

function parseEvent(data: string): DomainEvent | undefined {
  try {
    const value = JSON.parse(data) as DomainEvent;
    return typeof value === 'object' && value !== null && typeof value.seq === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

export interface FollowOptions {
  topics?: string[];
  service?: string;
  /** Resume after this sequence number. */
  afterSeq?: number;
  accept(event: DomainEvent): boolean;
  print(event: DomainEvent): void;
}

/** Follows /events/stream until Ctrl-C; events at or before the last one printed are skipped after a reconnect. */
export async function followEvents(cli: Cli, command: Command, options: FollowOptions): Promise<void> {
  let lastSeq = options.afterSeq ?? 0;
  // Say once that the stream dropped and once that it is back, not on every retry in between.
  let down = false;
  await watchStream({
    client: cli.client(command),
    path: '/api/v1/events/stream',
    query: { topics: options.topics?.length ? options.topics.join(',') : undefined, service: options.service },
    signal: cli.interruption(),
    lastEventId: options.afterSeq === undefined ? undefined : String(options.afterSeq),
    onMessage(message) {
      const event = parseEvent(message.data);
      if (!event || event.seq <= lastSeq) return;
      lastSeq = event.seq;
      if (options.accept(event)) options.print(event);
    },
    onConnect() {
      if (down) cli.err('event stream resumed');
      down = false;
    },
    onReconnect(reason) {
      if (!down) cli.err(`event stream interrupted (${reason}); reconnecting`);
      down = true;
    },
  });
}

/** `opsdeck events list|watch`: the domain event stream every module publishes to. */
export function registerEventsCommands(program: Command, cli: Cli): void {
  const events = program.command('events').description('read or follow the domain event stream');

  events
    .command('list')
    .description('list events, oldest first')
    .option('--types <a,b>', 'only these topics: exact, prefix.* or *', listArg)
    .option('--service <name>', 'only events about this service')
    .option('--after-seq <n>', 'only events after this sequence number', nonNegativeInt)
    .addOption(limitOption('events'))
    .addOption(outputOption())
    .action(
      async (opts: { types?: string[]; service?: string; afterSeq?: number; limit?: number; output: OutputFormat }, command: Command) => {
        const { items } = await cli.client(command).get<{ items: DomainEvent[] }>('/api/v1/events', {
          types: opts.types?.length ? opts.types.join(',') : undefined,
          service: opts.service,
          afterSeq: opts.afterSeq,
          limit: opts.limit,
        });
        cli.print(
          render(opts.output, items, {
            headers: ['SEQ', 'TIME', 'TYPE', 'SERVICE', 'SUBJECT', 'ACTOR'],
            rows: (list) => list.map((e) => [String(e.seq), timestamp(e.at), e.type, cell(e.service), cell(e.subject), cell(e.actor)]),
            empty: 'no events match',
          }),
        );
      },
    );

  events
    .command('watch')
    .description('print events as they happen, until Ctrl-C')
    .option('--topics <a,b>', 'only these topics: exact, prefix.* (incidents.*) or *', listArg)
    .option('--after-seq <n>', 'first replay the events after this sequence number', nonNegativeInt)
    .addOption(outputOption())
    .action(async (opts: { topics?: string[]; afterSeq?: number; output: OutputFormat }, command: Command) => {
      await followEvents(cli, command, {
        topics: opts.topics,
        afterSeq: opts.afterSeq,
        accept: () => true,
        print: (event) => printEvent(cli, opts.output, event),
      });
    });
}
