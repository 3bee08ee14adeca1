import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AttemptView, DeliveryView } from '../modules/oncall/notifications/delivery-log.js';
import { DELIVERY_STATUSES } from '../modules/oncall/notifications/notifications.tables.js';
import { limitOption, outputOption } from './args.js';
import { EXIT_ERROR } from './cli-error.js';
import type { Cli } from './context.js';
import { parseDuration } from './duration.js';
import { cell, formatData, formatRelative, formatTable, type OutputFormat, render } from './output.js';

const POLL_MS = 200;

function durationArg(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** One attempt in a few characters: the HTTP/SMTP code when there was one, else what happened. */
function token(a: AttemptView): string {
  if (a.statusCode !== null) return String(a.statusCode);
  if (a.outcome === 'sent') return 'ok';
  if (a.outcome === 'breaker-open') return 'open';
  return 'err';
}

/** `hook 500,503,200` or `hook 410 → mail ok`: each contact tried, in order, with its attempts. */
export function attemptHistory(d: DeliveryView): string {
  if (d.attempts.length === 0) return '-';
  const parts: { contact: string; tokens: string[] }[] = [];
  for (const a of d.attempts) {
    const last = parts.at(-1);
    if (last && last.contact === a.contact) last.tokens.push(token(a));
    else parts.push({ contact: a.contact, tokens: [token(a)] });
  }
  return parts.map((p) => `${p.contact} ${p.tokens.join(',')}`).join(' → ');
}

/** What a delivery came to, in words, for `notify test`. */
function verdict(d: DeliveryView, now: number): string {
  const last = d.attempts.at(-1);
  if (d.status === 'sent') return `sent${last ? ` in ${last.durationMs} ms` : ''}`;
  if (d.status === 'failed') return `failed: ${d.lastError ?? 'unknown error'}`;
  if (d.status === 'cancelled') return 'cancelled';
  const next = d.nextAttemptAt ? `; next attempt ${formatRelative(d.nextAttemptAt, now)}` : '';
  return d.attempts.length ? `still queued after ${d.attempts.length} attempt(s): ${d.lastError ?? ''}${next}` : 'queued';
}

/** `opsdeck notifications log|show` (the delivery log) and `opsdeck notify test`. */
export function registerNotificationCommands(program: Command, cli: Cli): void {
  const notifications = program
    .command('notifications')
    .description('the notification delivery log: every webhook, Slack message and email, with each attempt');
  notifications
    .command('log')
    .description('deliveries newest first, with each contact tried and how each attempt went')
    .option('--page <id>', 'only deliveries for this page (pag_...)')
    .option('--user <user>', 'only deliveries to this user')
    .addOption(new Option('--status <status>', 'only deliveries in this state').choices(DELIVERY_STATUSES))
    .addOption(limitOption('deliveries'))
    .addOption(outputOption())
    .action(async (opts: { page?: string; user?: string; status?: string; limit?: number; output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).get<{ items: DeliveryView[] }>('/api/v1/notifications', {
        page: opts.page,
        user: opts.user,
        status: opts.status,
        limit: opts.limit === undefined ? undefined : String(opts.limit),
      });
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['ID', 'STATUS', 'PAGE', 'USER', 'EVENT', 'ATTEMPTS', 'CREATED', 'LAST ERROR'],
          rows: (list) =>
            list.map((d) => [
              d.id,
              d.status,
              d.pageId ?? '-',
              d.user ?? '-',
              d.event,
              cell(attemptHistory(d), 50),
              formatRelative(d.createdAt, now),
              d.status === 'sent' ? '-' : cell(d.lastError ?? '-', 50),
            ]),
          empty: 'no notifications',
        }),
      );
    });
  notifications
    .command('show')
    .description('one delivery: its contact chain and every attempt')
    .argument('<id>', 'delivery id (ntf_...)')
    .addOption(outputOption())
    .action(async (id: string, opts: { output: OutputFormat }, command: Command) => {
      const d = await cli.client(command).get<DeliveryView>(`/api/v1/notifications/${encodeURIComponent(id)}`);
      if (opts.output !== 'table') return cli.out(formatData(opts.output, d));
      const now = cli.now();
      cli.out(`${d.id}  ${d.status}  ${d.event}: ${d.title}`);
      cli.out(
        `${d.pageId ? `page ${d.pageId} · ` : ''}to ${d.user ?? 'a webhook'} · contacts ${d.chain.join(' → ')} · created ${formatRelative(d.createdAt, now)}`,
      );
      if (d.status === 'queued' && d.nextAttemptAt) cli.out(`next attempt ${formatRelative(d.nextAttemptAt, now)} on ${d.contact}`);
      if (d.lastError && d.status !== 'sent') cli.out(`last error: ${d.lastError}`);
      if (d.attempts.length === 0) return cli.out('\nno attempts yet');
      cli.out('');
      cli.out(
        formatTable(
          ['#', 'AT', 'CONTACT', 'DESTINATION', 'OUTCOME', 'CODE', 'MS', 'ERROR'],
          d.attempts.map((a) => [
            String(a.n),
            new Date(a.at).toISOString(),
            `${a.contact} (${a.channel})`,
            a.destination,
            a.outcome,
            a.statusCode === null ? '-' : String(a.statusCode),
            String(a.durationMs),
            cell(a.error ?? '-', 60),
          ]),
        ),
      );
    });

  program
    .command('notify')
    .description('notification tools')
    .command('test')
    .description("send a test notification to each of a user's contacts (or one) and report how each went")
    .requiredOption('--user <user>', 'who to send it to')
    .option('--contact <name>', 'only this contact')
    .option('--no-wait', 'return once queued instead of waiting for the outcome')
    .addOption(new Option('--timeout <duration>', 'how long to wait for outcomes').argParser(durationArg).default(30_000, '30s'))
    .addOption(outputOption())
    .action(async (opts: { user: string; contact?: string; wait: boolean; timeout: number; output: OutputFormat }, command: Command) => {
      const client = cli.client(command);
      const queued = await client.post<{ items: DeliveryView[] }>('/api/v1/notifications/test', { user: opts.user, contact: opts.contact });
      let items = queued.items;
      const deadline = cli.now() + opts.timeout;
      while (opts.wait && items.some((d) => d.status === 'queued') && cli.now() < deadline) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        items = await Promise.all(items.map((d) => client.get<DeliveryView>(`/api/v1/notifications/${encodeURIComponent(d.id)}`)));
      }
      // A test whose contact did not work is a failed command, so scripts and CI can check contacts.
      if (opts.wait && items.some((d) => d.status !== 'sent')) cli.exitCode = EXIT_ERROR;
      if (opts.output !== 'table') return cli.out(formatData(opts.output, { items }));
      const now = cli.now();
      for (const d of items) cli.out(`${d.contact} (${d.channel})  ${d.id}  ${opts.wait ? verdict(d, now) : 'queued'}`);
    });
}
