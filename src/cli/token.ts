import { type Command, Option } from 'commander';
import type { TokenInfo } from '../core/auth/auth.js';
import { ROLES } from '../core/auth/roles.js';
import { outputOption } from './args.js';
import type { Cli } from './context.js';
import { formatAge, formatData, type OutputFormat, render } from './output.js';

/** `opsdeck token create|list|revoke` and `opsdeck whoami`. */
export function registerTokenCommands(program: Command, cli: Cli): void {
  const token = program.command('token').description('create, list and revoke API tokens (admin)');

  token
    .command('create')
    .description('create a token; its secret is printed once and never again')
    .requiredOption('--name <name>', 'a unique name for who or what uses it (e.g. ci, alice)')
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).makeOptionMandatory())
    .addOption(outputOption())
    .action(async (opts: { name: string; role: string; output: OutputFormat }, command: Command) => {
      const created = await cli.client(command).post<{ token: string; info: TokenInfo }>('/api/v1/tokens', {
        name: opts.name,
        role: opts.role,
      });
      // The secret alone on stdout, so `TOKEN=$(opsdeck token create ...)` works; the warning goes to stderr.
      if (opts.output === 'table') cli.out(created.token);
      else cli.out(formatData(opts.output, created));
      cli.err(`token "${created.info.name}" (${created.info.role}) created; store it now: it will not be shown again`);
    });

  token
    .command('list')
    .description('list tokens (secrets are never shown)')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).get<{ items: TokenInfo[] }>('/api/v1/tokens');
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['NAME', 'ROLE', 'STATUS', 'CREATED BY', 'AGE', 'LAST USED'],
          rows: (list) =>
            list.map((t) => [
              t.name,
              t.role,
              t.revokedAt === null ? 'active' : `revoked ${formatAge(t.revokedAt, now)} ago`,
              t.createdBy,
              formatAge(t.createdAt, now),
              t.lastUsedAt === null ? 'never' : `${formatAge(t.lastUsedAt, now)} ago`,
            ]),
          empty: 'no tokens',
        }),
      );
    });

  token
    .command('revoke')
    .description('revoke a token: it stops working at once')
    .argument('<name>', 'the token name')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const { info } = await cli.client(command).delete<{ info: TokenInfo }>(`/api/v1/tokens/${encodeURIComponent(name)}`);
      cli.out(`token "${info.name}" revoked`);
    });

  program
    .command('whoami')
    .description('show which token the CLI is using and its role')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }, command: Command) => {
      const me = await cli.client(command).get<{ name: string; role: string }>('/api/v1/whoami');
      if (opts.output === 'table') cli.out(`${me.name} (${me.role})`);
      else cli.out(formatData(opts.output, me));
    });
}
