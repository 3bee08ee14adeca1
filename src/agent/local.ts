import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemActor } from '../core/auth/roles.js';
import type { Logger } from '../core/logger.js';
import type { Core } from '../core/module.js';
import { isAlive } from './agent.js';

const TOKEN_FILE = 'agent-token';
const TOKEN_NAME = 'local-agent';

export interface LocalAgent {
  pid: number;
  /** Stops the agent (it drains and stops its instances), waiting up to graceMs. */
  stop(graceMs: number): Promise<void>;
}

/** The local agent's token: reused from the data dir while valid, else (re)created. Mode 0600. */
async function agentToken(core: Core, dataDir: string): Promise<string> {
  const path = join(dataDir, TOKEN_FILE);
  try {
    const token = readFileSync(path, 'utf8').trim();
    const actor = await core.auth.authenticate(token);
    if (actor?.role === 'agent') return token;
  } catch {}
  const existing = (await core.auth.listTokens()).find((t) => t.name === TOKEN_NAME && t.revokedAt === null);
  if (existing) await core.auth.revokeToken(TOKEN_NAME, systemActor);
  const { token } = await core.auth.createToken({ name: TOKEN_NAME, role: 'agent', by: systemActor });
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return token;
}

function runningAgentPid(stateDir: string): number | undefined {
  try {
    const { pid } = JSON.parse(readFileSync(join(stateDir, 'agent.json'), 'utf8')) as { pid: number };
    return isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

/**
 * The embedded default: `opsdeck server` runs a local agent beside itself. The agent is its own
 * process group, so a crash (or kill -9) of the server leaves the fleet serving; a restarted
 * server finds the running agent through its pid file and keeps it instead of starting another.
 */
export async function ensureLocalAgent(options: { core: Core; dataDir: string; serverUrl: string; logger: Logger }): Promise<LocalAgent> {
  const logger = options.logger.child({ module: 'local-agent' });
  const stateDir = join(options.dataDir, 'agent');
  const token = await agentToken(options.core, options.dataDir);
  let pid = runningAgentPid(stateDir);
  let child: ChildProcess | undefined;
  if (pid) {
    logger.info({ pid }, 'using the agent already running');
  } else {
    const bin = fileURLToPath(new URL('../../bin/opsdeck', import.meta.url));
    const log = openSync(join(options.dataDir, 'agent.log'), 'a');
    child = spawn(process.execPath, [bin, 'agent', '--control-plane', options.serverUrl, '--state-dir', stateDir], {
      env: { ...process.env, OPSDECK_AGENT_TOKEN: token },
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    pid = child.pid!;
    logger.info({ pid, log: join(options.dataDir, 'agent.log') }, 'started the local agent');
  }
  const agentPid = pid;
  return {
    pid: agentPid,
    async stop(graceMs) {
      if (!isAlive(agentPid)) return;
      process.kill(agentPid, 'SIGTERM');
      if (!(await waitForExit(agentPid, graceMs))) {
        logger.warn({ pid: agentPid }, 'agent did not stop within the grace period; killing it');
        process.kill(agentPid, 'SIGKILL');
      }
    },
  };
}
