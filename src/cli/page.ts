import type { Command } from 'commander';
import type { PageView } from '../modules/oncall/paging/pages.routes.js';
import { outputOption } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import type { Cli } from './context.js';
import { cell, formatData, formatRelative, type OutputFormat, render } from './output.js';

interface PageDetail extends PageView {
  timeline: {
    at: number;
    type: string;
    actor: string | null;
    step?: number;
    round?: number;
    users?: string[];
    empty?: string[];
    reason?: string;
  }[];
  paged: { user: string; at: number; step: number }[];
}

const STATUSES = ['open', 'triggered', 'acknowledged', 'resolved', 'all'];

/** `opsdeck page`, `opsdeck pages [show]`, and `opsdeck ack|resolve ID` for pages and alert groups alike. */
export function registerPageCommands(program: Command, cli: Cli): void {
  program
    .command('page')
    .description("page someone now: a service's escalation policy, a named policy, or one user")
    .option('--service <service>', "page through this service's escalation policy")
    .option('--policy <policy>', 'page through this escalation policy')
    .option('--user <user>', 'page this user directly')
    .requiredOption('-m, --message <text>', 'what is wrong (the title people see)')
    .option('--summary <text>', 'more detail')
    .option('--urgency <urgency>', 'high (escalates, follows personal rules) or low (notifies once)')
    .addOption(outputOption())
    .action(
      async (
        opts: {
          service?: string;
          policy?: string;
          user?: string;
          message: string;
          summary?: string;
          urgency?: string;
          output: OutputFormat;
        },
        command: Command,
      ) => {
        if (!opts.service && !opts.policy && !opts.user) throw new CliError('give --service, --policy or --user: who to page', EXIT_USAGE);
        if (opts.urgency && opts.urgency !== 'high' && opts.urgency !== 'low')
          throw new CliError('--urgency must be high or low', EXIT_USAGE);
        const page = await cli.client(command).post<PageView>('/api/v1/pages', {
          service: opts.service,
          policy: opts.policy,
          user: opts.user,
          title: opts.message,
          summary: opts.summary,
          urgency: opts.urgency,
        });
        if (opts.output !== 'table') return cli.out(formatData(opts.output, page));
        cli.out(`${page.id} triggered${page.policy ? ` through ${page.policy}` : ` for ${page.user}`} (urgency ${page.urgency})`);
      },
    );

  const pages = program
    .command('pages')
    .description('pages: who was paged for what, and where each stands')
    .option('--status <status>', `filter: ${STATUSES.join(', ')} (default: open)`, 'open')
    .option('--service <service>', 'only this service')
    .addOption(outputOption())
    .action(async (opts: { status: string; service?: string; output: OutputFormat }, command: Command) => {
      if (!STATUSES.includes(opts.status)) throw new CliError(`--status must be one of ${STATUSES.join(', ')}`, EXIT_USAGE);
      const { items } = await cli
        .client(command)
        .get<{ items: PageView[] }>('/api/v1/pages', { status: opts.status, service: opts.service });
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['ID', 'STATUS', 'SERVICE', 'POLICY', 'STEP', 'TRIGGERED', 'TITLE'],
          rows: (list) =>
            list.map((p) => [
              p.id,
              p.status,
              p.service ?? '-',
              p.policy ?? `user ${p.user}`,
              `${p.step} (round ${p.round})`,
              formatRelative(p.triggeredAt, now),
              cell(p.title, 60),
            ]),
          empty: opts.status === 'open' ? 'no open pages' : `no ${opts.status} pages`,
        }),
      );
    });
  pages
    .command('show')
    .description('one page: who it reached, its timeline, and what changed before it')
    .argument('<id>', 'page id (pag_...)')
    .addOption(outputOption())
    .action(async (id: string, opts: { output: OutputFormat }, command: Command) => {
      const p = await cli.client(command).get<PageDetail>(`/api/v1/pages/${encodeURIComponent(id)}`);
      if (opts.output !== 'table') return cli.out(formatData(opts.output, p));
      const now = cli.now();
      cli.out(`${p.id}  ${p.status}  ${p.title}`);
      cli.out(
        `service ${p.service ?? '-'} · ${p.policy ? `policy ${p.policy}` : `user ${p.user}`} · urgency ${p.urgency} · triggered ${formatRelative(p.triggeredAt, now)}`,
      );
      if (p.acknowledgedBy) cli.out(`acknowledged by ${p.acknowledgedBy} ${formatRelative(p.acknowledgedAt, now)}`);
      if (p.resolvedBy) cli.out(`resolved by ${p.resolvedBy} ${formatRelative(p.resolvedAt, now)}`);
      cli.out('\ntimeline:');
      for (const t of p.timeline) {
        const detail =
          t.type === 'notified'
            ? `step ${t.step} round ${t.round}: ${t.users?.join(', ') || 'nobody'}${t.empty?.length ? ` (no one for ${t.empty.join(', ')})` : ''}`
            : (t.reason ?? t.actor ?? '');
        cli.out(`  ${new Date(t.at).toISOString()}  ${t.type.padEnd(13)} ${detail}`);
      }
      cli.out('\nwhat changed before it (newest first):');
      if (!p.changes.length) cli.out('  nothing recorded');
      for (const c of p.changes as { at: number; summary: string }[]) cli.out(`  ${formatRelative(c.at, now).padEnd(10)} ${c.summary}`);
    });

  for (const [verb, done] of [
    ['ack', 'acknowledged'],
    ['resolve', 'resolved'],
  ] as const) {
    program
      .command(verb)
      .description(`${verb === 'ack' ? 'acknowledge' : 'resolve'} a page (pag_...) or an alert group (alg_...)`)
      .argument('<id>', 'page or alert group id')
      .action(async (id: string, _opts: unknown, command: Command) => {
        const base = id.startsWith('pag_') ? '/api/v1/pages' : id.startsWith('alg_') ? '/api/v1/alert-groups' : undefined;
        if (!base) throw new CliError(`"${id}" is neither a page id (pag_...) nor an alert group id (alg_...)`, EXIT_USAGE);
        const r = await cli.client(command).post<{ id: string; status: string }>(`${base}/${encodeURIComponent(id)}/${verb}`, {});
        cli.out(`${r.id} ${r.status === done ? done : `is ${r.status}`}`);
      });
  }
}
