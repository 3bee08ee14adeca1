import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { DEFAULT_DATA_DIR, DEFAULT_SERVER } from './client.js';
import type { Cli } from './context.js';

interface AgentFlags {
  controlPlane?: string;
  stateDir?: string;
  apiHost?: string;
  apiPort?: string;
  id?: string;
  logLevel?: string;
}

/** `opsdeck agent`: the data plane (process supervisor + traffic router) as its own process. */
export function registerAgentCommand(program: Command, cli: Cli): void {
  program
    .command('agent')
    .description('run the data plane: supervises service instances and routes their traffic; keeps serving if the control plane is down')
    .option('--control-plane <url>', `control plane URL (env OPSDECK_URL; default ${DEFAULT_SERVER})`)
    .option(
      '--state-dir <dir>',
      'where the agent caches desired state, pid files and logs (env OPSDECK_AGENT_STATE_DIR; default <data-dir>/agent)',
    )
    .option('--api-host <host>', "interface for the agent's own API (logs, metrics); default 127.0.0.1")
    .option('--api-port <port>', "port for the agent's own API; default any free one")
    .option('--id <id>', 'agent id reported to the control plane; default the host name')
    .option('--log-level <level>', 'trace, debug, info (default), warn, error')
    .action(async (flags: AgentFlags, command: Command) => {
      const env = cli.io.env;
      const token = cli.globals(command).token ?? env.OPSDECK_AGENT_TOKEN;
      if (!token) throw new CliError('the agent needs a token with the agent role: --token or OPSDECK_AGENT_TOKEN', EXIT_USAGE);
      const port = flags.apiPort === undefined ? 0 : Number(flags.apiPort);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new CliError(`--api-port must be 0-65535, got "${flags.apiPort}"`, EXIT_USAGE);
      const dataDir = cli.globals(command).dataDir ?? env.OPSDECK_DATA_DIR ?? DEFAULT_DATA_DIR;
      const stateDir = resolve(cli.io.cwd, flags.stateDir ?? env.OPSDECK_AGENT_STATE_DIR ?? `${dataDir}/agent`);
      const [{ startAgent }, { createLogger }] = await Promise.all([import('../agent/agent.js'), import('../core/logger.js')]);
      const agent = await startAgent({
        controlPlaneUrl: flags.controlPlane ?? cli.globals(command).server ?? env.OPSDECK_URL ?? DEFAULT_SERVER,
        token,
        stateDir,
        apiHost: flags.apiHost,
        apiPort: port,
        agentId: flags.id,
        logger: createLogger({ level: flags.logLevel ?? env.OPSDECK_LOG_LEVEL }),
      });
      cli.err(`opsdeck agent running; api ${agent.apiUrl}, state ${stateDir}`);
      const keepAlive = setInterval(() => {}, 1 << 30);
      const signal = await new Promise<NodeJS.Signals>((done) => {
        process.once('SIGTERM', done);
        process.once('SIGINT', done);
      });
      cli.err(`${signal}: stopping instances and exiting`);
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      await agent.stop();
      clearInterval(keepAlive);
      process.exit(0);
    });
}
