import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const NEWLINE = 0x0a;
const CHUNK_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export interface TailedFileOptions {
  path: string;
  /**
   * Where reading starts: the end of the file, or a byte offset recorded by an earlier reader
   * (a pid file). An offset past the end means the file was truncated since: start at 0.
   */
  from: number | 'end';
  onLine(line: string): void;
  /** Longer lines are split (at a UTF-8 character boundary). */
  maxLineBytes?: number;
  /** Resuming further behind than this skips ahead: only the last this-many bytes are read. */
  maxBacklogBytes?: number;
}

export interface RotateOptions {
  maxBytes: number;
  /** Rotated copies kept: <path>.1 (newest) … <path>.<keep>. */
  keep: number;
}

/**
 * Follows a file another process appends to (an instance's stdout or stderr): reads from the last
 * offset to the end, splits lines (a partial last line waits for its newline), notices truncation,
 * and rotates the file by copy-then-truncate so the writer's O_APPEND fd stays valid.
 *
 * Reads are synchronous and positional: an instance's output is a local file, and a synchronous
 * read keeps "everything written so far is in the ring" true at the points that need it (exit,
 * rotation, detach) without juggling in-flight reads.
 */
export class TailedFile {
  private fd: number | null;
  private offset: number;
  /** Bytes after the last newline, waiting for the rest of their line. */
  private partial: Buffer = EMPTY;
  /** Resumed mid-line: drop bytes up to the next newline rather than emit half a line. */
  private skipToNewline = false;
  /** Allocated on the first read with data: an instance that never writes costs no buffer. */
  private chunk: Buffer | null = null;
  private readonly maxLineBytes: number;

  constructor(private readonly options: TailedFileOptions) {
    this.maxLineBytes = options.maxLineBytes ?? 16_384;
    mkdirSync(dirname(options.path), { recursive: true });
    // Read-write on the same inode the instance appends to: positional reads, and ftruncate for rotation.
    this.fd = openSync(options.path, 'a+');
    const size = fstatSync(this.fd).size;
    this.offset = options.from === 'end' ? size : this.resumeOffset(options.from, size);
  }

  /**
   * The byte offset a later reader should resume from: what was consumed, minus a pending partial
   * line (so that line is read whole next time).
   */
  position(): number {
    return this.offset - this.partial.length;
  }

  /**
   * Reads what was appended since the last call, up to `budget` bytes (default: to the end).
   * Returns true when more is waiting (the budget ran out).
   */
  read(budget = Number.POSITIVE_INFINITY): boolean {
    const fd = this.fd;
    if (fd === null) return false;
    const size = fstatSync(fd).size;
    if (size < this.offset) {
      // Truncated by someone else (copytruncate by an external logrotate): the rest of a pending
      // line is gone with it, so emit what we have and start over at the beginning.
      this.flush();
      this.offset = 0;
    }
    if (size === this.offset) return false; // the common case of a poll: nothing new
    const buffer = this.buffer();
    let left = budget;
    while (left > 0) {
      const n = readSync(fd, buffer, 0, Math.min(CHUNK_BYTES, left), this.offset);
      if (n === 0) return false;
      this.offset += n;
      left -= n;
      this.consume(buffer.subarray(0, n));
    }
    return fstatSync(fd).size > this.offset;
  }

  /** Emits a pending partial line (the writer exited: its line will not be completed). */
  flush(): void {
    if (this.partial.length > 0) this.emit(this.partial);
    this.partial = EMPTY;
  }

  /**
   * Copy-then-truncate rotation once the file is over `maxBytes`: shift <path>.1… down, copy the
   * file to <path>.1, truncate it to 0. The writer keeps its fd and, appending (O_APPEND), goes on
   * at the new end. Everything is read into the ring first; bytes appended between the end of the
   * copy and the truncation (a few system calls) are lost. A failed copy still truncates: keeping
   * the instance's disk bounded matters more than the rotated copy. Returns whether it rotated.
   */
  rotateIfOver(options: RotateOptions): boolean {
    const fd = this.fd;
    if (fd === null || fstatSync(fd).size <= options.maxBytes) return false;
    this.read();
    const { path } = this.options;
    let copyError: unknown = null;
    if (options.keep > 0) {
      try {
        rmSync(`${path}.${options.keep}`, { force: true });
        for (let i = options.keep - 1; i >= 1; i--) renameIfExists(`${path}.${i}`, `${path}.${i + 1}`);
        this.copyTo(fd, `${path}.1`);
      } catch (error) {
        copyError = error;
        try {
          rmSync(`${path}.1`, { force: true });
        } catch {
          // Nothing more to do about a half-written copy.
        }
        this.read();
      }
    }
    // The copy ended at the end of the file; only bytes appended from here to the truncation are lost.
    ftruncateSync(fd, 0);
    // A pending partial line stays: its rest is appended at the new start of the file.
    this.offset = 0;
    if (copyError) throw copyError;
    return true;
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }

  /** Copies the whole file to `target`, consuming (into the ring) what was appended since the last read. */
  private copyTo(fd: number, target: string): void {
    const out = openSync(target, 'w');
    const buffer = this.buffer();
    try {
      let position = 0;
      for (;;) {
        const n = readSync(fd, buffer, 0, CHUNK_BYTES, position);
        if (n === 0) return;
        let written = 0;
        while (written < n) written += writeSync(out, buffer, written, n - written);
        if (position + n > this.offset) {
          this.consume(buffer.subarray(Math.max(0, this.offset - position), n));
          this.offset = position + n;
        }
        position += n;
      }
    } finally {
      closeSync(out);
    }
  }

  private buffer(): Buffer {
    this.chunk ??= Buffer.allocUnsafe(CHUNK_BYTES);
    return this.chunk;
  }

  private resumeOffset(from: number, size: number): number {
    let start = from > size ? 0 : Math.max(0, from);
    const backlog = this.options.maxBacklogBytes ?? Number.POSITIVE_INFINITY;
    if (size - start > backlog) start = size - backlog;
    // A recorded offset is a line start; after a rotation (or a skip) it may not be any more.
    if (start > 0 && !this.byteAtIs(start - 1, NEWLINE)) this.skipToNewline = true;
    return start;
  }

  private byteAtIs(position: number, value: number): boolean {
    const one = Buffer.alloc(1);
    return this.fd !== null && readSync(this.fd, one, 0, 1, position) === 1 && one[0] === value;
  }

  private consume(chunk: Buffer): void {
    let data = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
    if (this.skipToNewline) {
      const index = data.indexOf(NEWLINE);
      if (index === -1) {
        this.partial = EMPTY;
        return;
      }
      this.skipToNewline = false;
      data = data.subarray(index + 1);
    }
    let start = 0;
    for (let index = data.indexOf(NEWLINE); index !== -1; index = data.indexOf(NEWLINE, start)) {
      this.emitBounded(data.subarray(start, index));
      start = index + 1;
    }
    let rest = data.subarray(start);
    while (rest.length > this.maxLineBytes) {
      const cut = charBoundary(rest, this.maxLineBytes);
      this.emit(rest.subarray(0, cut));
      rest = rest.subarray(cut);
    }
    // Copied: `chunk` is a view of the read buffer, which the next read overwrites.
    this.partial = rest.length > 0 ? Buffer.from(rest) : EMPTY;
  }

  private emitBounded(line: Buffer): void {
    let rest = line;
    while (rest.length > this.maxLineBytes) {
      const cut = charBoundary(rest, this.maxLineBytes);
      this.emit(rest.subarray(0, cut));
      rest = rest.subarray(cut);
    }
    this.emit(rest);
  }

  private emit(bytes: Buffer): void {
    const text = bytes.toString('utf8');
    this.options.onLine(text.endsWith('\r') ? text.slice(0, -1) : text);
  }
}

/** The largest cut ≤ max that does not split a UTF-8 sequence (no continuation byte at the cut). */
function charBoundary(bytes: Buffer, max: number): number {
  let cut = max;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut === 0 ? max : cut;
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
