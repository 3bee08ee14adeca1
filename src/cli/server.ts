import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import type { LocalAgent } from '../agent/local.js';
import { type Config, envName, loadConfig } from '../core/config.js';
import { AppError } from '../core/errors.js';
import type { RunningServer } from '../core/kernel.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { ADMIN_TOKEN_FILE } from './client.js';
import type { Cli } from './context.js';

/**
 * Loads the kernel and the module list on demand: they pull in Fastify, the database drivers and
 * every module, which no other command needs, so `opsdeck get` stays fast.
 */
async function loadKernel() {
  const [{ startServer }, { modules }] = await Promise.all([import('../core/kernel.js'), import('../app.js')]);
  return { startServer, modules };
}

interface ServerOptions {
  port?: string;
  host?: string;
  databaseUrl?: string;
  databaseSchema?: string;
  role?: string;
  logLevel?: string;
  bodyLimit?: string;
  shutdownGraceMs?: string;
  leaderLeaseMs?: string;
  publicUrl?: string;
  /** undefined: decided by the store (embedded SQLite runs a local agent, PostgreSQL replicas don't). */
  agent?: boolean;
}

/** Resolves flags and OPSDECK_* variables; a bad value is a usage error (exit 2) naming the flag. */
export function serverConfig(opts: ServerOptions, dataDir: string | undefined, env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig(
      {
        port: opts.port,
        host: opts.host,
        dataDir,
        databaseUrl: opts.databaseUrl,
        databaseSchema: opts.databaseSchema,
        role: opts.role,
        logLevel: opts.logLevel,
        bodyLimit: opts.bodyLimit,
        shutdownGraceMs: opts.shutdownGraceMs,
        leaderLeaseMs: opts.leaderLeaseMs,
        publicUrl: opts.publicUrl,
      },
      env,
    );
  } catch (err) {
    if (err instanceof AppError && err.status === 2) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
}

function announce(cli: Cli, config: Config, server: RunningServer): void {
  if (server.url) cli.err(`opsdeck (${config.role}) listening on ${server.url}`);
  else cli.err(`opsdeck (${config.role}) running`);
  if (!server.adminToken) return;
  const file = join(config.dataDir, ADMIN_TOKEN_FILE);
  const where = existsSync(file) ? `written to ${file}` : 'not written to disk';
  cli.err(
    [
      `created the admin token (${where}):`,
      `  ${server.adminToken}`,
      'the CLI on this machine picks it up from the data dir; elsewhere set OPSDECK_TOKEN. It will not be shown again.',
    ].join('\n'),
  );
}

/**
 * Runs until SIGTERM/SIGINT, then closes gracefully (in-flight requests and jobs get
 * shutdownGraceMs) and exits 0. A second signal exits 1 at once, for when shutdown hangs.
 */
/**
 * Resolves on the first SIGTERM/SIGINT; a second one exits 1 at once, for when shutdown hangs.
 * Installed before anything starts, so a signal during start-up still shuts down cleanly.
 */
function firstSignal(cli: Cli): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((resolve) => {
    const first = (received: NodeJS.Signals) => {
      process.off('SIGINT', first);
      process.off('SIGTERM', first);
      const again = (second: NodeJS.Signals) => {
        cli.err(`${second} again: exiting without waiting`);
        process.exit(1);
      };
      process.on('SIGINT', again);
      process.on('SIGTERM', again);
      resolve(received);
    };
    process.on('SIGINT', first);
    process.on('SIGTERM', first);
  });
}

/** Closes gracefully (in-flight requests and jobs get shutdownGraceMs) and exits 0. */
async function shutDown(cli: Cli, config: Config, signal: NodeJS.Signals, server: RunningServer, agent?: LocalAgent): Promise<never> {
  cli.err(`${signal}: shutting down (waiting up to ${config.shutdownGraceMs}ms; signal again to exit now)`);
  try {
    // The agent first: it drains its instances while the control plane can still hear its last report.
    await agent?.stop(config.shutdownGraceMs);
    await server.close(config.shutdownGraceMs);
  } catch (err) {
    cli.err(`shutdown failed: ${(err as Error).message}`);
    process.exit(1);
  }
  process.exit(0);
}

/** The agent on this machine reaches a wildcard-bound server over loopback. */
function localUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]') u.hostname = '127.0.0.1';
  return u.origin;
}

const flag = (name: string, value: string, description: string) =>
  new Option(`--${name} <${value}>`, `${description} (env ${envName(name)})`);

/** `opsdeck server`: the control plane process. */
export function registerServerCommand(program: Command, cli: Cli): void {
  program
    .command('server')
    .description('run the control plane (HTTP API, jobs, subscribers); --data-dir holds the SQLite store and admin token')
    .addOption(flag('port', 'port', 'port to listen on, 0 for any free one; default 7070'))
    .addOption(flag('host', 'host', 'interface to bind; default localhost'))
    .addOption(flag('database-url', 'url', 'postgres:// URL; default SQLite in the data dir'))
    .addOption(flag('database-schema', 'name', 'PostgreSQL schema to use (created if missing); default public'))
    .addOption(flag('role', 'role', 'all (default), api (HTTP only) or worker (jobs and subscribers only)'))
    .addOption(flag('log-level', 'level', 'trace, debug, info (default), warn, error'))
    .addOption(flag('body-limit', 'bytes', 'largest request body accepted; default 1 MiB'))
    .addOption(flag('shutdown-grace-ms', 'ms', 'how long shutdown waits for in-flight work; default 30000'))
    .option('--agent', 'start a local agent (the default with the embedded SQLite store; env OPSDECK_AGENT=true)')
    .option('--no-agent', 'do not start a local agent (the default with --database-url; env OPSDECK_AGENT=false)')
    .addOption(flag('leader-lease-ms', 'ms', 'how soon a replica takes over global tasks from a dead leader; default 15000'))
    .addOption(flag('public-url', 'url', 'URL people reach this server at, for links in notifications; default the listen address'))
    .action(async (opts: ServerOptions, command: Command) => {
      const config = serverConfig(opts, cli.globals(command).dataDir, cli.io.env);
      const stop = firstSignal(cli);
      // A worker on SQLite holds no socket and its timers are unref'd: keep the process alive until told to stop.
      const keepAlive = setInterval(() => {}, 1 << 30);
      const kernel = await loadKernel();
      const server = await kernel.startServer(config, { modules: kernel.modules });
      announce(cli, config, server);
      const envAgent = cli.io.env.OPSDECK_AGENT;
      const wantAgent = opts.agent ?? (envAgent ? envAgent !== 'false' : !config.databaseUrl);
      let agent: LocalAgent | undefined;
      if (wantAgent && server.url) {
        const { ensureLocalAgent } = await import('../agent/local.js');
        agent = await ensureLocalAgent({
          core: server.core,
          dataDir: config.dataDir,
          serverUrl: localUrl(server.url),
          logger: server.core.logger,
        });
        cli.err(`local agent running (pid ${agent.pid}); its log is ${join(config.dataDir, 'agent.log')}`);
      }
      const signal = await stop;
      clearInterval(keepAlive);
      await shutDown(cli, config, signal, server, agent);
    });
}
