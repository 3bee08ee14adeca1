import type { Command } from 'commander';
import type { AuditEntry, AuditVerifyResult } from '../core/audit/audit.js';
import { limitOption, outputOption, sinceOption } from './args.js';
import { EXIT_ERROR } from './cli-error.js';
import type { Cli } from './context.js';
import { cell, formatAge, formatData, type OutputFormat, render } from './output.js';

interface AuditListOptions {
  actor?: string;
  action?: string;
  target?: string;
  since?: number;
  limit?: number;
  output: OutputFormat;
}

/** `opsdeck audit list|verify`: the hash-chained record of every mutation. */
export function registerAuditCommands(program: Command, cli: Cli): void {
  const audit = program.command('audit').description('read and verify the tamper-evident audit log');

  audit
    .command('list')
    .description('list audit entries, newest first')
    .option('--actor <name>', 'only entries by this actor (token name or "system")')
    .option('--action <action>', 'only this action, e.g. resources.apply or tokens.create')
    .option('--target <target>', 'only this target, e.g. Service/feed or token/ci')
    .addOption(sinceOption())
    .addOption(limitOption('entries'))
    .addOption(outputOption())
    .action(async (opts: AuditListOptions, command: Command) => {
      const { items } = await cli.client(command).get<{ items: AuditEntry[] }>('/api/v1/audit', {
        actor: opts.actor,
        action: opts.action,
        target: opts.target,
        since: opts.since,
        limit: opts.limit,
      });
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['SEQ', 'AGE', 'ACTOR', 'ACTION', 'TARGET', 'DIGEST'],
          rows: (list) => list.map((e) => [String(e.seq), formatAge(e.at, now), e.actor, e.action, cell(e.target), e.digest.slice(0, 12)]),
          empty: 'no audit entries match',
        }),
      );
    });

  audit
    .command('verify')
    .description('recompute the hash chain; exits 1 and names the first broken entry if it was tampered with')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }, command: Command) => {
      const result = await cli.client(command).get<AuditVerifyResult>('/api/v1/audit/verify');
      if (!result.ok) cli.exitCode = EXIT_ERROR;
      if (opts.output !== 'table') {
        cli.out(formatData(opts.output, result));
        return;
      }
      if (result.ok) {
        cli.out(`audit log intact: ${result.checked} entries verified`);
        return;
      }
      const broken = result.brokenAt;
      cli.out(
        broken
          ? `audit log BROKEN at seq ${broken.seq} (id ${broken.id}): ${broken.reason}`
          : `audit log BROKEN (after ${result.checked} entries checked)`,
      );
    });
}
