import type { Command } from 'commander';
import { DateTime } from 'luxon';
import type { OnCallSegment } from '../modules/oncall/contracts.js';
import type { OncallReport } from '../modules/oncall/health/report.js';
import { outputOption } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import type { Cli } from './context.js';
import { parseDuration, parseSince } from './duration.js';
import { formatData, formatDuration, type OutputFormat, render } from './output.js';

interface Rendered {
  schedule: string;
  timeZone: string;
  final: OnCallSegment[];
}

/** A time for --at/--from/--to: ISO-8601, `now`, or a duration from now (`+2h`, `-1d`). */
function timeArg(value: string, now: number, flag: string): number {
  if (value === 'now') return now;
  const rel = /^([+-])(.+)$/.exec(value);
  try {
    if (rel) return now + (rel[1] === '-' ? -1 : 1) * parseDuration(rel[2]!);
  } catch {
    throw new CliError(`${flag}: "${value}" is not a time (ISO-8601, now, +2h, -1d)`, EXIT_USAGE);
  }
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new CliError(`${flag}: "${value}" is not a time (ISO-8601, now, +2h, -1d)`, EXIT_USAGE);
  return at;
}

const local = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toFormat('ccc yyyy-LL-dd HH:mm');
const who = (s: OnCallSegment | null | undefined) => (s?.users.length ? s.users.join(', ') : 'nobody');
const ms = (v: number | null) => (v === null ? '-' : formatDuration(v));
const pct = (v: number | null) => (v === null ? '-' : `${Math.round(v * 1000) / 10}%`);

/** `opsdeck oncall who|schedule|override|overrides|swap|report`. */
export function registerOncallCommands(program: Command, cli: Cli): void {
  const oncall = program.command('oncall').description('who is on call: schedules, overrides, swaps, and the health of on-call');

  oncall
    .command('who')
    .description('who is on call now (or --at) and next, on a schedule or for a service')
    .argument('[schedule]', 'Schedule name')
    .option('--service <service>', 'who a page for this service would reach, step by step through its escalation policy')
    .option('--at <time>', 'ISO-8601, now, +2h, -1d (default now)')
    .addOption(outputOption())
    .action(async (schedule: string | undefined, opts: { service?: string; at?: string; output: OutputFormat }, command: Command) => {
      if (!schedule === !opts.service) throw new CliError('give a schedule or --service (one of them)', EXIT_USAGE);
      const at = opts.at ? timeArg(opts.at, cli.now(), '--at') : undefined;
      const client = cli.client(command);
      if (opts.service) {
        const r = await client.get<{
          policy: string | null;
          steps: { step: number; after: string; users: string[]; webhooks: number; empty: string[] }[];
        }>('/api/v1/oncall', { service: opts.service, at: at === undefined ? undefined : String(at) });
        if (opts.output !== 'table') return cli.out(formatData(opts.output, r));
        if (!r.policy) return cli.out(`${opts.service} has no escalation policy (spec.oncall.escalationPolicy)`);
        cli.out(`${opts.service} pages through ${r.policy}:`);
        for (const s of r.steps) {
          const reach = [...s.users, ...(s.webhooks ? [`${s.webhooks} webhook(s)`] : [])].join(', ') || 'nobody';
          cli.out(`  step ${s.step}: ${reach}${s.empty.length ? ` (no one for ${s.empty.join(', ')})` : ''}, then waits ${s.after}`);
        }
        return;
      }
      const r = await client.get<{ current: OnCallSegment; next: OnCallSegment | null }>(
        `/api/v1/schedules/${encodeURIComponent(schedule!)}/oncall`,
        {
          at: at === undefined ? undefined : String(at),
        },
      );
      if (opts.output !== 'table') return cli.out(formatData(opts.output, r));
      const until = (s: OnCallSegment) => new Date(s.end).toISOString();
      cli.out(`now:  ${who(r.current)} (${r.current.layer}) until ${until(r.current)}`);
      cli.out(
        r.next ? `next: ${who(r.next)} (${r.next.layer}) from ${new Date(r.next.start).toISOString()}` : 'next: nobody in the next 8 weeks',
      );
    });

  oncall
    .command('schedule')
    .description("the final schedule over a range, with the layer (or override) behind each stretch, in the schedule's zone")
    .argument('<name>', 'Schedule name')
    .option('--from <time>', 'ISO-8601, now, +2h, -1d (default now)')
    .option('--to <time>', 'default: 7 days after --from')
    .addOption(outputOption())
    .action(async (name: string, opts: { from?: string; to?: string; output: OutputFormat }, command: Command) => {
      const now = cli.now();
      const from = opts.from ? timeArg(opts.from, now, '--from') : now;
      const to = opts.to ? timeArg(opts.to, now, '--to') : from + 7 * 24 * 3600_000;
      const r = await cli
        .client(command)
        .get<Rendered>(`/api/v1/schedules/${encodeURIComponent(name)}/render`, { from: String(from), to: String(to) });
      cli.print(
        render(opts.output, r.final, {
          headers: ['FROM', 'TO', 'ON CALL', 'LAYER'],
          rows: (list) =>
            list.map((s) => [
              local(s.start, r.timeZone),
              local(s.end, r.timeZone),
              who(s),
              s.overrideId ? `override ${s.overrideId}` : `${s.layer}${s.swapId ? ' (swap)' : ''}`,
            ]),
          empty: 'nothing in that range',
        }),
      );
    });

  oncall
    .command('override')
    .description('put someone on call instead of whoever the schedule has, for a while')
    .argument('<schedule>', 'Schedule name')
    .requiredOption('--user <user>', 'who takes over')
    .requiredOption('--from <time>', 'ISO-8601, now, +2h')
    .requiredOption('--to <time>', 'ISO-8601, +8h')
    .option('--reason <text>', 'why (audited)')
    .action(async (schedule: string, opts: { user: string; from: string; to: string; reason?: string }, command: Command) => {
      const now = cli.now();
      const o = await cli
        .client(command)
        .post<{ id: string; from: number; to: number }>(`/api/v1/schedules/${encodeURIComponent(schedule)}/overrides`, {
          user: opts.user,
          from: new Date(timeArg(opts.from, now, '--from')).toISOString(),
          to: new Date(timeArg(opts.to, now, '--to')).toISOString(),
          reason: opts.reason,
        });
      cli.out(`${o.id}: ${opts.user} on call on ${schedule} from ${new Date(o.from).toISOString()} to ${new Date(o.to).toISOString()}`);
    });

  oncall
    .command('overrides')
    .description("a schedule's overrides that have not ended; --delete ID cancels one")
    .argument('<schedule>', 'Schedule name')
    .option('--delete <id>', 'cancel this override')
    .addOption(outputOption())
    .action(async (schedule: string, opts: { delete?: string; output: OutputFormat }, command: Command) => {
      const client = cli.client(command);
      if (opts.delete) {
        await client.delete(`/api/v1/schedules/${encodeURIComponent(schedule)}/overrides/${encodeURIComponent(opts.delete)}`);
        return cli.out(`${opts.delete} cancelled`);
      }
      const { items } = await client.get<{
        items: { id: string; user: string; from: number; to: number; reason: string | null; createdBy: string }[];
      }>(`/api/v1/schedules/${encodeURIComponent(schedule)}/overrides`);
      cli.print(
        render(opts.output, items, {
          headers: ['ID', 'USER', 'FROM', 'TO', 'BY', 'REASON'],
          rows: (list) =>
            list.map((o) => [o.id, o.user, new Date(o.from).toISOString(), new Date(o.to).toISOString(), o.createdBy, o.reason ?? '']),
          empty: 'no overrides',
        }),
      );
    });

  oncall
    .command('swap')
    .description("hand a stretch of one person's shifts to another")
    .argument('<schedule>', 'Schedule name')
    .requiredOption('--from-user <user>', 'whose shifts')
    .requiredOption('--to-user <user>', 'who takes them')
    .requiredOption('--from <time>', 'ISO-8601, now, +2h')
    .requiredOption('--to <time>', 'ISO-8601, +1d')
    .option('--reason <text>', 'why (audited)')
    .action(
      async (schedule: string, opts: { fromUser: string; toUser: string; from: string; to: string; reason?: string }, command: Command) => {
        const now = cli.now();
        const s = await cli.client(command).post<{ id: string }>(`/api/v1/schedules/${encodeURIComponent(schedule)}/swaps`, {
          fromUser: opts.fromUser,
          toUser: opts.toUser,
          from: new Date(timeArg(opts.from, now, '--from')).toISOString(),
          to: new Date(timeArg(opts.to, now, '--to')).toISOString(),
          reason: opts.reason,
        });
        cli.out(`${s.id}: ${opts.toUser} takes ${opts.fromUser}'s shifts on ${schedule} in that window`);
      },
    );

  oncall
    .command('report')
    .description('health of on-call: MTTA, pages per person per week, off-hours pages, escalation rate, noisy alerts')
    .option('--since <since>', 'a duration (7d) or ISO-8601 time', '7d')
    .addOption(outputOption())
    .action(async (opts: { since: string; output: OutputFormat }, command: Command) => {
      try {
        parseSince(opts.since, cli.now());
      } catch (err) {
        throw new CliError(`--since: ${(err as Error).message}`, EXIT_USAGE);
      }
      const r = await cli.client(command).get<OncallReport>('/api/v1/oncall/report', { since: opts.since });
      if (opts.output !== 'table') return cli.out(formatData(opts.output, r));
      cli.out(`${r.pages} pages since ${new Date(r.since).toISOString()}, ${r.acknowledged} acknowledged`);
      cli.out(
        `MTTA mean ${ms(r.mtta.meanMs)}, p50 ${ms(r.mtta.p50Ms)}, p95 ${ms(r.mtta.p95Ms)} (target p95 < ${formatDuration(r.mtta.targetP95Ms)}); MTTR p50 ${ms(r.mttr.p50Ms)}`,
      );
      cli.out(
        `escalated past the first step: ${pct(r.escalationRate)}; resolved without anyone acknowledging: ${pct(r.unacknowledgedResolveRate)} (false-alarm target ${pct(r.falseAlarmTarget)})`,
      );
      cli.out('\npeople:');
      cli.print(
        render('table', r.people, {
          headers: ['USER', 'PAGES', 'PER WEEK', 'OFF HOURS', 'ACKED'],
          rows: (l) => l.map((p) => [p.user, String(p.pages), String(p.perWeek), String(p.offHours), String(p.acknowledged)]),
          empty: 'nobody was paged',
        }),
      );
      cli.out('\nnoisiest alerts:');
      cli.print(
        render('table', r.noisy, {
          headers: ['PAGES', 'ACKED', 'RESOLVED UNACKED', 'ESCALATED', 'SERVICE', 'TITLE'],
          rows: (l) =>
            l.map((n) => [
              String(n.pages),
              String(n.acknowledged),
              String(n.unacknowledgedResolves),
              String(n.escalated),
              n.service ?? '-',
              n.title,
            ]),
          empty: 'no pages',
        }),
      );
    });
}
