import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { GroupView } from '../modules/alerting/groups/groups.routes.js';
import type { IntegrationUrl } from '../modules/alerting/integrations/integrations.routes.js';
import type { SilenceView } from '../modules/alerting/silences/silences.js';
import { outputOption } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import type { Cli } from './context.js';
import { parseDuration } from './duration.js';
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

/** `opsdeck silence add|list|expire`. */
export function registerSilenceCommands(program: Command, cli: Cli): void {
  const silence = program.command('silence').description('silences: matchers that keep alerts from notifying for a while');
  silence
    .command('add')
    .description('silence alerts matching every matcher, e.g. alertname=HighErrors service=~"feed|search"')
    .argument('<matchers...>', 'name=value, name!=value, name=~regex, name!~regex')
    .requiredOption('--duration <duration>', 'how long, e.g. 2h or 30m')
    .requiredOption('--comment <text>', 'why (shown to everyone who sees the silence)')
    .addOption(outputOption())
    .action(async (matchers: string[], opts: { duration: string; comment: string; output: OutputFormat }, command: Command) => {
      let ms: number;
      try {
        ms = parseDuration(opts.duration);
      } catch {
        throw new CliError(`--duration: "${opts.duration}" is not a duration such as 2h or 30m`, EXIT_USAGE);
      }
      const created = await cli
        .client(command)
        .post<SilenceView>('/api/v1/silences', { matchers, durationMinutes: Math.max(1, Math.round(ms / 60_000)), comment: opts.comment });
      if (opts.output !== 'table') return cli.out(formatData(opts.output, created));
      cli.out(`${created.id} silences ${created.selector} until ${new Date(created.endsAt).toISOString()}`);
    });
  silence
    .command('list')
    .description('silences (default: active and pending)')
    .option('--state <state>', 'active, pending or expired')
    .addOption(outputOption())
    .action(async (opts: { state?: string; output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).get<{ items: SilenceView[] }>('/api/v1/silences', { state: opts.state });
      const shown = opts.state ? items : items.filter((s) => s.state !== 'expired');
      const now = cli.now();
      cli.print(
        render(opts.output, shown, {
          headers: ['ID', 'STATE', 'MATCHERS', 'ENDS', 'BY', 'COMMENT'],
          rows: (list) => list.map((s) => [s.id, s.state, s.selector, formatRelative(s.endsAt, now), s.createdBy, cell(s.comment, 50)]),
          empty: 'no silences',
        }),
      );
    });
  silence
    .command('expire')
    .description('end a silence now')
    .argument('<id>', 'silence id (sil_...)')
    .action(async (id: string, _opts: unknown, command: Command) => {
      await cli.client(command).delete(`/api/v1/silences/${encodeURIComponent(id)}`);
      cli.out(`${id} expired`);
    });
}

/** `opsdeck rules import FILE`: a Prometheus rule file as AlertRule resources. */
export function registerRulesCommands(program: Command, cli: Cli): void {
  program
    .command('rules')
    .description('alert rules')
    .command('import')
    .description('apply a Prometheus rule file (groups: [...]) as AlertRule resources, one per group')
    .argument('<file>', 'the rule file (YAML)')
    .option('--service <service>', 'the service the alerts concern')
    .option('--provider <name>', 'a MetricsProvider to evaluate them against (default: the built-in store)')
    .action(async (file: string, opts: { service?: string; provider?: string }, command: Command) => {
      let rules: unknown;
      try {
        rules = parseYaml(await readFile(file, 'utf8'));
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`, EXIT_USAGE);
      }
      const query = new URLSearchParams({
        ...(opts.service ? { service: opts.service } : {}),
        ...(opts.provider ? { provider: opts.provider } : {}),
      });
      const { items } = await cli
        .client(command)
        .post<{ items: { kind: string; name: string; action: string }[] }>(`/api/v1/rules/import${query.size ? `?${query}` : ''}`, rules);
      for (const r of items) cli.out(`${r.kind}/${r.name} ${r.action}`);
    });
}
