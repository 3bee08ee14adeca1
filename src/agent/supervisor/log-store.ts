import type { Clock } from '../../core/clock.js';
import type { LogLine, LogQuery } from '../contracts.js';

export interface LogSource {
  service: string;
  version: string;
  instance: string;
}

/** Fixed-capacity ring of the latest lines of one instance. */
class Ring {
  private lines: LogLine[] = [];
  private head = 0;
  /** Set when the instance went away; ended rings are evicted first. */
  endedAt: number | null = null;

  constructor(private readonly capacity: number) {}

  push(line: LogLine): void {
    if (this.lines.length < this.capacity) this.lines.push(line);
    else {
      this.lines[this.head] = line;
      this.head = (this.head + 1) % this.capacity;
    }
  }

  /** Lines in seq order. */
  all(): LogLine[] {
    return this.head === 0 ? this.lines.slice() : [...this.lines.slice(this.head), ...this.lines.slice(0, this.head)];
  }
}

type Listener = { query: LogQuery; fn: (line: LogLine) => void };

export interface LogStoreOptions {
  clock: Clock;
  /** Lines kept in memory per instance. */
  ringLines: number;
  /** Rings of instances that went away, kept for post-mortems (oldest evicted first). */
  maxEndedInstances?: number;
}

/**
 * Instance output in memory: a bounded ring per instance and one agent-wide sequence so that
 * `--follow` cursors (afterSeq) work across instances.
 */
export class LogStore {
  private seq = 0;
  private rings = new Map<string, Ring>();
  private listeners = new Set<Listener>();

  constructor(private readonly options: LogStoreOptions) {}

  append(source: LogSource, stream: LogLine['stream'], text: string): LogLine {
    const line: LogLine = { seq: ++this.seq, at: this.options.clock.now(), ...source, stream, line: text };
    let ring = this.rings.get(source.instance);
    if (!ring) {
      ring = new Ring(this.options.ringLines);
      this.rings.set(source.instance, ring);
    }
    ring.endedAt = null;
    ring.push(line);
    for (const listener of this.listeners) {
      if (!matches(line, listener.query)) continue;
      try {
        listener.fn(line);
      } catch {
        // A broken follower must not stop log capture for everyone else.
      }
    }
    return line;
  }

  /** The agent-wide sequence of the last appended line (0 before any). */
  lastSeq(): number {
    return this.seq;
  }

  /**
   * Matching lines in seq order. With `afterSeq` the first `limit` lines after the cursor (paging
   * forward); otherwise the last `limit` lines (a tail).
   */
  query(query: LogQuery): LogLine[] {
    const out: LogLine[] = [];
    for (const [instance, ring] of this.rings) {
      if (query.instance !== undefined && instance !== query.instance) continue;
      for (const line of ring.all()) if (matches(line, query)) out.push(line);
    }
    out.sort((a, b) => a.seq - b.seq);
    const limit = query.limit;
    if (limit === undefined || out.length <= limit) return out;
    return query.afterSeq !== undefined ? out.slice(0, limit) : out.slice(out.length - limit);
  }

  /** The last `count` lines an instance wrote after `afterSeq`, oldest first. */
  tail(instance: string, count: number, afterSeq = 0): LogLine[] {
    const ring = this.rings.get(instance);
    if (!ring) return [];
    return ring
      .all()
      .filter((line) => line.seq > afterSeq)
      .slice(-count);
  }

  follow(query: LogQuery, fn: (line: LogLine) => void): () => void {
    const listener = { query, fn };
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The instance went away; its ring stays queryable until evicted by newer ended ones. */
  end(instance: string): void {
    const ring = this.rings.get(instance);
    if (!ring) return;
    ring.endedAt = this.options.clock.now();
    const max = this.options.maxEndedInstances ?? 100;
    const ended = [...this.rings].filter(([, r]) => r.endedAt !== null).sort((a, b) => a[1].endedAt! - b[1].endedAt!);
    for (const [id] of ended.slice(0, Math.max(0, ended.length - max))) this.rings.delete(id);
  }
}

function matches(line: LogLine, query: LogQuery): boolean {
  if (line.service !== query.service) return false;
  if (query.version !== undefined && line.version !== query.version) return false;
  if (query.instance !== undefined && line.instance !== query.instance) return false;
  if (query.since !== undefined && line.at < query.since) return false;
  if (query.afterSeq !== undefined && line.seq <= query.afterSeq) return false;
  return true;
}
