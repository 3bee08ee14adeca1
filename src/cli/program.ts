import { Command, CommanderError } from 'commander';
import { registerAgentCommand } from './agent.js';
import { registerAlertCommands, registerRulesCommands, registerSilenceCommands } from './alerts.js';
import { registerApplyCommands } from './apply.js';
import { registerAuditCommands } from './audit.js';
import { registerChangesCommands } from './changes.js';
import { CliError, EXIT_ERROR, EXIT_OK, EXIT_USAGE } from './cli-error.js';
import { DEFAULT_DATA_DIR, DEFAULT_SERVER } from './client.js';
import { Cli, type CliIo } from './context.js';
import { registerDeployCommand } from './deploy.js';
import { registerDoraCommand } from './dora.js';
import { registerEventsCommands } from './events.js';
import { registerFaultCommands } from './fault.js';
import { registerFreezeCommands } from './freeze.js';
import { registerInstancesCommands } from './instances.js';
import { registerJobsCommands } from './jobs.js';
import { registerLogsCommand } from './logs.js';
import { registerNotificationCommands } from './notifications.js';
import { registerOncallCommands } from './oncall.js';
import { registerPageCommands } from './page.js';
import { registerPipelineCommands } from './pipeline.js';
import { registerReleaseCommands } from './release.js';
import { registerResourceCommands } from './resources.js';
import { registerRolloutCommands } from './rollout.js';
import { registerScaleCommands } from './scale.js';
import { registerServerCommand } from './server.js';
import { registerTokenCommands } from './token.js';

const VERSION = '0.1.0';

/** The whole command tree; exported so tests can run commands in-process. */
export function buildProgram(cli: Cli): Command {
  const program = new Command('opsdeck')
    .description('opsdeck: one self-hosted control plane for running production')
    .version(VERSION, '-V, --version')
    // No defaults here: an unset flag must fall through to OPSDECK_* (resolved in client.ts / loadConfig).
    .option('-s, --server <url>', `control plane URL (env OPSDECK_URL; default ${DEFAULT_SERVER})`)
    .option('-t, --token <token>', `API token (env OPSDECK_TOKEN; for a local server, default <data-dir>/admin-token)`)
    .option('--data-dir <dir>', `local state directory (env OPSDECK_DATA_DIR; default ${DEFAULT_DATA_DIR})`)
    .configureOutput({
      writeOut: (text) => cli.io.stdout.write(text),
      writeErr: (text) => cli.io.stderr.write(text),
    })
    .showHelpAfterError('(run with --help for usage)')
    // Commander would exit 1 on usage errors; throwing lets run() map them to 2.
    .exitOverride();
  registerServerCommand(program, cli);
  registerAgentCommand(program, cli);
  registerApplyCommands(program, cli);
  registerResourceCommands(program, cli);
  registerReleaseCommands(program, cli);
  registerScaleCommands(program, cli);
  registerInstancesCommands(program, cli);
  registerLogsCommand(program, cli);
  registerFaultCommands(program, cli);
  registerDeployCommand(program, cli);
  registerRolloutCommands(program, cli);
  registerPipelineCommands(program, cli);
  registerFreezeCommands(program, cli);
  registerAlertCommands(program, cli);
  registerSilenceCommands(program, cli);
  registerRulesCommands(program, cli);
  registerPageCommands(program, cli);
  registerOncallCommands(program, cli);
  registerNotificationCommands(program, cli);
  registerDoraCommand(program, cli);
  registerChangesCommands(program, cli);
  registerEventsCommands(program, cli);
  registerAuditCommands(program, cli);
  registerJobsCommands(program, cli);
  registerTokenCommands(program, cli);
  return program;
}

/** Global options that take a value: what follows them is not a command name. */
const GLOBAL_VALUE_OPTIONS = new Set(['-s', '--server', '-t', '--token', '--data-dir']);

/**
 * Commander takes `--version` for the program's flag wherever it stands. After a command name it
 * is that command's option (`release create feed --version 1.2.0`), so it is passed on as
 * `--version=1.2.0`, a form only the command's own option accepts.
 */
export function commandVersionArgs(args: string[]): string[] {
  let command = -1;
  for (let i = 0; i < args.length && command < 0; i++) {
    if (args[i] === '--') break;
    if (GLOBAL_VALUE_OPTIONS.has(args[i]!)) i++;
    else if (!args[i]!.startsWith('-')) command = i;
  }
  if (command < 0) return args;
  const out = args.slice(0, command + 1);
  for (let i = command + 1; i < args.length; i++) {
    if (args[i] === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (args[i] === '--version' && next !== undefined && !next.startsWith('-')) out.push(`--version=${args[++i]}`);
    else out.push(args[i]!);
  }
  return out;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 error, 2 usage. `argv` is process.argv-shaped. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const cli = new Cli(io);
  const program = buildProgram(cli);
  try {
    await program.parseAsync([...argv.slice(0, 2), ...commandVersionArgs(argv.slice(2))]);
    return cli.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; everything else commander rejects is usage.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof CliError) {
      cli.err(err.message);
      return err.exitCode;
    }
    const error = err as Error;
    cli.err(io.env.OPSDECK_DEBUG ? (error.stack ?? String(error)) : `error: ${error.message ?? String(error)}`);
    return EXIT_ERROR;
  }
}
