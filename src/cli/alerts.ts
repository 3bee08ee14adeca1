import type { Command } from 'commander';
import type { GroupView } from '../modules/alerting/groups/groups.routes.js';
import type { IntegrationUrl } from '../modules/alerting/integrations/integrations.routes.js';
import { outputOption } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import type { Cli } from './context.js';
import { cell, formatData, formatRelative, type OutputFormat, render } from './output.js';

const STATES = ['active', 'open', 'acknowledged', 'resolved'];

/** `opsdeck alerts [list|show|ack|resolve]` and `opsdeck integration url|rotate`. */
export function registerAlertCommands(program: Command, cli: Cli): void {
  const alerts = program
    .command('alerts')
    .description('alert groups from rules and intakes: list, show (with what changed), ack, resolve')
    .option('--state <state>', `filter: ${STATES.join(', ')} (default: active)`, 'active')
    .option('--service <service>', 'only this service')
    .addOption(outputOption())
    .action(async (opts: { state: string; service?: string; output: OutputFormat }, command: Command) => {
      if (!STATES.includes(opts.state)) throw new CliError(`--state must be one of ${STATES.join(', ')}`, EXIT_USAGE);
      const { items } = await cli
        .client(command)
        .get<{ items: GroupView[] }>('/api/v1/alert-groups', { status: opts.state, service: opts.service });
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['ID', 'STATUS', 'SERVICE', 'SOURCE', 'OPENED', 'EVENTS', 'TITLE'],
          rows: (list) =>
            list.map((g) => [
              g.id,
              g.status,
              g.service ?? '-',
              g.integration ?? g.source,
              formatRelative(g.openedAt, now),
              String(g.events),
              cell(g.title, 60),
            ]),
          empty: opts.state === 'active' ? 'no open alert groups' : `no ${opts.state} alert groups`,
        }),
      );
    });

  alerts
    .command('show')
    .description('one alert group: its alerts and what changed on its service and dependencies before it opened')
    .argument('<id>', 'alert group id (alg_...)')
    .addOption(outputOption())
    .action(async (id: string, opts: { output: OutputFormat }, command: Command) => {
      const g = await cli.client(command).get<GroupView>(`/api/v1/alert-groups/${encodeURIComponent(id)}`);
      if (opts.output !== 'table') return cli.out(formatData(opts.output, g));
      const now = cli.now();
      cli.out(`${g.id}  ${g.status}  ${g.title}`);
      cli.out(
        `service ${g.service ?? '-'} · from ${g.integration ?? g.source} · opened ${formatRelative(g.openedAt, now)} · ${g.events} events`,
      );
      cli.out('\nalerts:');
      for (const a of g.alerts ?? []) {
        const labels = Object.entries(a.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        cli.out(`  ${a.status.padEnd(8)} ${labels}  (received ${a.received}×)`);
      }
      cli.out('\nwhat changed before it opened (newest first):');
      if (!g.changes?.length) cli.out('  nothing on this service or its dependencies');
      for (const c of g.changes ?? [])
        cli.out(`  ${formatRelative(c.at, now).padEnd(10)} ${(c.service ?? '-').padEnd(12)} ${c.type}  ${c.subject ?? ''}`);
    });

  for (const [verb, path, done] of [
    ['ack', 'ack', 'acknowledged'],
    ['resolve', 'resolve', 'resolved'],
  ] as const) {
    alerts
      .command(verb)
      .description(`${verb === 'ack' ? 'acknowledge' : 'resolve'} an alert group`)
      .argument('<id>', 'alert group id (alg_...)')
      .option('--reason <text>', 'why (audited)')
      .action(async (id: string, opts: { reason?: string }, command: Command) => {
        const g = await cli
          .client(command)
          .post<GroupView>(`/api/v1/alert-groups/${encodeURIComponent(id)}/${path}`, opts.reason ? { reason: opts.reason } : {});
        cli.out(`${g.id} ${g.status === done ? done : `is ${g.status}`}`);
      });
  }

  const integration = program.command('integration').description('alert intake integrations: their URLs and keys');
  integration
    .command('url')
    .description('print the intake URL (and key) to configure the sender with (admin)')
    .argument('<name>', 'Integration name')
    .addOption(outputOption())
    .action(async (name: string, opts: { output: OutputFormat }, command: Command) => {
      const u = await cli.client(command).get<IntegrationUrl>(`/api/v1/integrations/${encodeURIComponent(name)}/url`);
      if (opts.output !== 'table') return cli.out(formatData(opts.output, u));
      cli.out(u.url);
      if (u.type === 'pagerduty' || u.type === 'prometheus')
        cli.out(`${u.type === 'pagerduty' ? 'routing key' : 'bearer credential'}: ${u.key}`);
      cli.out(`configure: ${u.hint}`);
    });
  integration
    .command('rotate')
    .description("replace an integration's key; the old one stops working at once (admin)")
    .argument('<name>', 'Integration name')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const u = await cli.client(command).post<IntegrationUrl>(`/api/v1/integrations/${encodeURIComponent(name)}/rotate`, {});
      cli.out(`rotated; new URL: ${u.url}`);
      if (u.type === 'pagerduty' || u.type === 'prometheus') cli.out(`new key: ${u.key}`);
    });
}
