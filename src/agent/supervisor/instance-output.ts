import { closeSync, type FSWatcher, openSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import type { LogSource, LogStore } from './log-store.js';
import { TailedFile } from './tailed-file.js';

export type OutputStream = 'stdout' | 'stderr';
/** Per stream, the byte offset a later reader resumes from (recorded in pid files). */
export type OutputOffsets = Record<OutputStream, number>;
export type OutputFds = Record<OutputStream, number>;

const STREAMS: OutputStream[] = ['stdout', 'stderr'];
/** Read per stream per pass before yielding to the event loop (the router shares it). */
const PASS_BYTES = 1024 * 1024;

export interface OutputFilesOptions {
  /** <stateDir>/logs */
  dir: string;
  clock: Clock;
  logs: LogStore;
  /** Fallback poll when fs.watch misses changes (or is unavailable). */
  pollMs: number;
  /** Rotate (copytruncate) a file once it is larger than this. */
  maxBytes: number;
  keep: number;
  /** Resuming from a recorded offset reads at most this much of what was written meanwhile. */
  maxBacklogBytes: number;
  onError(instance: string, error: unknown): void;
}

/**
 * Instance output goes to files the instance holds open itself (`<instance>.out.log`,
 * `<instance>.err.log`), not to pipes: its writes never depend on the agent being alive. The
 * agent follows the files into the log store. See docs/adr/0004-instance-output-files.md.
 */
export class OutputFiles {
  constructor(readonly options: OutputFilesOptions) {}

  paths(instance: string): Record<OutputStream, string> {
    return { stdout: join(this.options.dir, `${instance}.out.log`), stderr: join(this.options.dir, `${instance}.err.log`) };
  }

  /** Starts following an instance's files (created if missing); throws when they can't be opened. */
  follow(source: LogSource, from: OutputOffsets | 'end'): InstanceOutput {
    return new InstanceOutput(this, source, from);
  }
}

/** The two output files of one instance slot, followed across the slot's restarts. */
export class InstanceOutput {
  private readonly files: Record<OutputStream, TailedFile>;
  private readonly watchers: FSWatcher[] = [];
  private cancelPoll: (() => void) | null = null;
  private passQueued = false;
  private closed = false;

  constructor(
    private readonly owner: OutputFiles,
    private readonly source: LogSource,
    from: OutputOffsets | 'end',
  ) {
    const { logs, maxBacklogBytes } = owner.options;
    const paths = owner.paths(source.instance);
    const open = (stream: OutputStream) =>
      new TailedFile({
        path: paths[stream],
        from: from === 'end' ? 'end' : from[stream],
        maxBacklogBytes,
        onLine: (line) => logs.append(source, stream, line),
      });
    const stdout = open('stdout');
    try {
      this.files = { stdout, stderr: open('stderr') };
    } catch (error) {
      stdout.close();
      throw error;
    }
    for (const stream of STREAMS) this.watch(paths[stream]);
    this.schedulePoll();
    // Resuming from a recorded offset: what was written meanwhile is read at once.
    if (from !== 'end') this.queuePass();
  }

  /**
   * Opens the files for a child's stdout and stderr, with O_APPEND: every write lands at the
   * current end, also after a copytruncate rotation. The caller closes them once spawned.
   */
  openForChild(): OutputFds {
    const paths = this.owner.paths(this.source.instance);
    const stdout = openSync(paths.stdout, 'a');
    try {
      return { stdout, stderr: openSync(paths.stderr, 'a') };
    } catch (error) {
      closeSync(stdout);
      throw error;
    }
  }

  /** Reads both files to the end, so everything written so far is in the log store. */
  catchUp(): void {
    for (const stream of STREAMS) this.guard(() => this.files[stream].read());
  }

  /** The process is gone: read to the end and emit pending partial lines (its last words). */
  drain(): void {
    for (const stream of STREAMS) {
      this.guard(() => {
        this.files[stream].read();
        this.files[stream].flush();
      });
    }
  }

  /** Where a later reader resumes (line starts): recorded in the pid file. */
  positions(): OutputOffsets {
    return { stdout: this.files.stdout.position(), stderr: this.files.stderr.position() };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelPoll?.();
    this.cancelPoll = null;
    for (const watcher of this.watchers) watcher.close();
    for (const stream of STREAMS) this.guard(() => this.files[stream].close());
  }

  private watch(path: string): void {
    try {
      // inotify / FSEvents follow the inode, which copytruncate keeps. Non-persistent: the agent's
      // exit is not held up by it.
      const watcher = watch(path, { persistent: false }, () => this.queuePass());
      // e.g. out of inotify watches: the poll still reads the file.
      watcher.on('error', () => watcher.close());
      this.watchers.push(watcher);
    } catch {
      // fs.watch unavailable for this file system: polling only.
    }
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.cancelPoll = this.owner.options.clock.setTimer(this.owner.options.pollMs, () => {
      this.pass();
      this.schedulePoll();
    });
  }

  /** Coalesces bursts of change notifications into one pass. */
  private queuePass(): void {
    if (this.passQueued || this.closed) return;
    this.passQueued = true;
    setImmediate(() => {
      this.passQueued = false;
      this.pass();
    });
  }

  /** Reads a bounded amount per stream, rotates what grew too big, and comes back for the rest. */
  private pass(): void {
    if (this.closed) return;
    const { maxBytes, keep } = this.owner.options;
    let more = false;
    for (const stream of STREAMS) {
      this.guard(() => {
        const file = this.files[stream];
        if (file.read(PASS_BYTES)) more = true;
        else file.rotateIfOver({ maxBytes, keep });
      });
    }
    if (more) this.queuePass();
  }

  /** Runs in timers and watch callbacks: an unreadable file or a full disk must not take the agent down. */
  private guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.owner.options.onError(this.source.instance, error);
    }
  }
}
