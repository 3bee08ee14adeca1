import type { Executor } from '../../../core/db/database.js';
import type { Logger } from '../../../core/logger.js';
import { appendLogs } from './pipelines.store.js';

/** Lines kept per stage; further output is counted, not stored. */
export const MAX_LINES_PER_STAGE = 10_000;
const MAX_LINE_CHARS = 8_192;
const FLUSH_LINES = 200;
const FLUSH_MS = 200;

/**
 * Captures a child's stdout/stderr as lines in `pipeline_logs`, written in batches so a chatty
 * build does not become one insert per line. Partial lines wait for their newline (or the end).
 */
export class StageLogWriter {
  private buffer: { run_id: string; idx: number; at: number; stream: string; line: string }[] = [];
  private partial = new Map<string, string>();
  private stored = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: { db: Executor; runId: string; idx: number; now: () => number; logger: Logger }) {}

  write(stream: 'stdout' | 'stderr' | 'system', chunk: string): void {
    const text = (this.partial.get(stream) ?? '') + chunk;
    const lines = text.split('\n');
    this.partial.set(stream, lines.pop() ?? '');
    for (const line of lines) this.push(stream, line.replace(/\r$/, ''));
  }

  private push(stream: string, line: string): void {
    if (this.stored >= MAX_LINES_PER_STAGE) {
      this.dropped++;
      return;
    }
    this.stored++;
    const cut = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}… (line cut at ${MAX_LINE_CHARS} characters)` : line;
    this.buffer.push({ run_id: this.options.runId, idx: this.options.idx, at: this.options.now(), stream, line: cut });
    if (this.buffer.length >= FLUSH_LINES) void this.flush();
    else if (!this.timer) {
      // Batching, not domain time: a real timer so output shows up while the command runs.
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    this.writing = this.writing
      .then(() => appendLogs(this.options.db, batch))
      .catch((err) => this.options.logger.warn({ err }, 'writing pipeline stage output failed'));
    return this.writing;
  }

  /** Writes what is left: unterminated last lines and a note of what the cap dropped. */
  async close(): Promise<void> {
    for (const [stream, rest] of this.partial) if (rest) this.push(stream, rest);
    this.partial.clear();
    if (this.dropped > 0) {
      this.buffer.push({
        run_id: this.options.runId,
        idx: this.options.idx,
        at: this.options.now(),
        stream: 'system',
        line: `output truncated: ${this.dropped} more lines after the first ${MAX_LINES_PER_STAGE} were not kept`,
      });
    }
    await this.flush();
  }
}
