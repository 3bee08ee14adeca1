import type { Command } from 'commander';
import type { LogLine } from '../agent/contracts.js';
import { limitOption, outputOption, sinceOption } from './args.js';
import type { Cli } from './context.js';
import { timestamp } from './events.js';
import { formatData, type OutputFormat } from './output.js';

interface LogsOptions {
  version?: string;
  instance?: string;
  since?: number;
  limit?: number;
  follow?: boolean;
  output: OutputFormat;
}

/** `2026-01-02 10:00:00Z feed-1.0.0-1  listening on 30001`; stderr lines are marked. */
export function logLine(line: LogLine): string {
  return `${timestamp(line.at)} ${line.instance}${line.stream === 'stderr' ? ' [stderr]' : ''}  ${line.line}`;
}

/** Splits an NDJSON byte stream into parsed lines; blank lines (keep-alives) and junk are skipped. */
export async function* ndjson<T>(body: AsyncIterable<Uint8Array>): AsyncGenerator<T> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        yield JSON.parse(line) as T;
      } catch {}
    }
  }
}

/** `opsdeck logs`: instance output, read from the agent running the service through the control plane. */
export function registerLogsCommand(program: Command, cli: Cli): void {
  program
    .command('logs')
    .description("print a service's instance output (stdout and stderr), optionally following it")
    .argument('<service>', 'the service')
    .option('--version <version>', 'only instances of this version')
    .option('--instance <id>', 'only this instance')
    .addOption(sinceOption())
    .addOption(limitOption('lines'))
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .addOption(outputOption())
    .action(async (service: string, opts: LogsOptions, command: Command) => {
      const client = cli.client(command);
      const path = `/api/v1/services/${encodeURIComponent(service)}/logs`;
      const query = { version: opts.version, instance: opts.instance, since: opts.since, limit: opts.limit };
      // Lines as they come, as in `events watch`: text, one JSON object per line, or a YAML document each.
      const print = (line: LogLine) =>
        cli.out(
          opts.output === 'json' ? JSON.stringify(line) : opts.output === 'yaml' ? `---\n${formatData('yaml', line)}` : logLine(line),
        );
      if (!opts.follow) {
        const { items } = await client.get<{ items: LogLine[] }>(path, query);
        for (const line of items) print(line);
        if (!items.length) cli.err(`no log lines for ${service}`);
        return;
      }
      const signal = cli.interruption();
      try {
        const res = await client.stream(path, { ...query, follow: 'true' }, { signal, headers: { accept: 'application/x-ndjson' } });
        if (res.body) for await (const line of ndjson<LogLine>(res.body)) print(line);
      } catch (err) {
        if (!signal.aborted) throw err;
      }
    });
}
