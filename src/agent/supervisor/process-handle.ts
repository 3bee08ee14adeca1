import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Clock } from '../../core/clock.js';
import type { ProcessSpec } from '../protocol.js';
import type { OutputFds } from './instance-output.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** spawn() itself failed (ENOENT, EACCES, bad cwd): the process never ran. */
  spawnError?: Error;
}

export type Signal = NodeJS.Signals;

/** A process the supervisor runs: spawned by us or adopted from a pid file. */
export interface ProcessHandle {
  readonly pid: number | null;
  readonly pgid: number | null;
  readonly adopted: boolean;
  /** Resolves once, when the process is gone. */
  readonly exited: Promise<ExitInfo>;
  /** Signals the whole process group, so workers a service forked go with it. */
  signalGroup(signal: Signal): void;
  /** Stops watching (detach): the exit is no longer awaited. */
  release(): void;
}

export interface SpawnOptions {
  spec: ProcessSpec;
  env: Record<string, string>;
  /**
   * Files (O_APPEND) for the child's stdout and stderr; null discards its output. Never pipes: the
   * instance must not depend on the agent being alive to write a log line. Closed here once spawned
   * (the child has its own copies).
   */
  output: OutputFds | null;
}

export function spawnProcess(options: SpawnOptions): ProcessHandle {
  let child: ChildProcess;
  let resolveExit!: (info: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((resolve) => {
    resolveExit = resolve;
  });
  let done = false;
  const finish = (info: ExitInfo) => {
    if (done) return;
    done = true;
    resolveExit(info);
  };
  const { output } = options;
  try {
    child = spawn(options.spec.command, options.spec.args, {
      cwd: options.spec.cwd,
      env: options.env,
      // Own process group: a SIGKILL of the agent (or a Ctrl-C to its group) leaves instances running,
      // and one group signal reaches everything the instance forked.
      detached: true,
      stdio: output ? ['ignore', output.stdout, output.stderr] : 'ignore',
      shell: false,
    });
  } catch (error) {
    // Synchronous spawn failures (bad argument types, EINVAL …) are spawn errors like ENOENT.
    finish({ code: null, signal: null, spawnError: error as Error });
    return deadHandle(exited);
  } finally {
    if (output) for (const fd of [output.stdout, output.stderr]) closeQuietly(fd);
  }
  child.on('error', (error) => {
    // After a successful spawn, 'error' means a failed kill(); the exit path still reports the end.
    if (child.pid === undefined) finish({ code: null, signal: null, spawnError: error });
  });
  // No pipes to wait for: once it exited, everything it wrote is in its files.
  child.once('exit', (code, signal) => finish({ code, signal }));
  const pid = child.pid ?? null;
  return {
    pid,
    pgid: pid,
    adopted: false,
    exited,
    signalGroup: (signal) => signalGroup(pid, pid, signal),
    release() {
      child.unref();
    },
  };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing leaks.
  }
}

export interface AdoptOptions {
  pid: number;
  pgid: number;
  clock: Clock;
  /** How often to check that an adopted process is still there (we get no exit event for it). */
  pollMs: number;
}

export function adoptProcess(options: AdoptOptions): ProcessHandle {
  let resolveExit!: (info: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((resolve) => {
    resolveExit = resolve;
  });
  let cancel: (() => void) | null = null;
  const poll = () => {
    if (!isAlive(options.pid)) {
      cancel = null;
      // Not our child: its exit status went to whoever reaped it.
      resolveExit({ code: null, signal: null });
      return;
    }
    cancel = options.clock.setTimer(options.pollMs, poll);
  };
  poll();
  return {
    pid: options.pid,
    pgid: options.pgid,
    adopted: true,
    exited,
    signalGroup: (signal) => signalGroup(options.pid, options.pgid, signal),
    release() {
      cancel?.();
      cancel = null;
    },
  };
}

function deadHandle(exited: Promise<ExitInfo>): ProcessHandle {
  return { pid: null, pgid: null, adopted: false, exited, signalGroup() {}, release() {} };
}

/** Signals the group, falling back to the pid alone; a group that is already gone is fine. */
export function signalGroup(pid: number | null, pgid: number | null, signal: Signal): boolean {
  for (const target of [pgid === null ? null : -pgid, pid]) {
    if (target === null) continue;
    try {
      process.kill(target, signal);
      return true;
    } catch {
      // ESRCH: gone already; EPERM: not ours any more. Either way nothing to signal here.
    }
  }
  return false;
}

/** The pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces and parens, so split at the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Whether a live pid still runs the command we spawned (pid reuse guard before adopting or
 * signalling it). Linux compares /proc/<pid>/cmdline; elsewhere we can only trust the pid.
 */
export function commandMatches(pid: number, command: string, args: string[]): boolean {
  if (process.platform !== 'linux') return true;
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  if (argv.at(-1) === '') argv.pop();
  const [argv0, ...rest] = argv;
  if (argv0 === undefined) return false;
  if (argv0 !== command && basename(argv0) !== basename(command)) return false;
  return rest.length === args.length && rest.every((arg, i) => arg === args[i]);
}
