import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import type { LogLine } from '../contracts.js';
import { LogStore } from './log-store.js';
import { TailedFile } from './tailed-file.js';
import { cleanupHarnesses, createHarness, fixtureService, httpGet, readyInstances, waitFor } from './test-harness.js';

afterEach(cleanupHarnesses);

const temps: string[] = [];
const fds: number[] = [];
const tails: TailedFile[] = [];
afterEach(() => {
  for (const file of tails.splice(0)) file.close();
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('log store', () => {
  const a = { service: 'web', version: 'v1', instance: 'web-v1-1' };
  const b = { service: 'web', version: 'v2', instance: 'web-v2-1' };
  const other = { service: 'api', version: 'v1', instance: 'api-v1-1' };

  it('keeps the last N lines per instance and answers queries in seq order', () => {
    const clock = new FakeClock(1_000);
    const store = new LogStore({ clock, ringLines: 3 });
    for (let i = 1; i <= 5; i++) {
      store.append(a, 'stdout', `a${i}`);
      store.append(b, 'stderr', `b${i}`);
      store.append(other, 'stdout', `o${i}`);
      clock.advance(10);
    }
    const lines = (query: Parameters<LogStore['query']>[0]) => store.query(query).map((l) => l.line);
    expect(lines({ service: 'web' })).toEqual(['a3', 'b3', 'a4', 'b4', 'a5', 'b5']);
    expect(store.query({ service: 'web' }).map((l) => l.seq)).toEqual([7, 8, 10, 11, 13, 14]);
    expect(lines({ service: 'web', version: 'v2' })).toEqual(['b3', 'b4', 'b5']);
    expect(lines({ service: 'web', instance: 'web-v1-1' })).toEqual(['a3', 'a4', 'a5']);
    expect(lines({ service: 'web', since: 1_040 })).toEqual(['a5', 'b5']);
    expect(lines({ service: 'web', limit: 2 })).toEqual(['a5', 'b5']);
    expect(lines({ service: 'web', afterSeq: 8, limit: 2 })).toEqual(['a4', 'b4']);
    expect(lines({ service: 'nope' })).toEqual([]);
    expect(store.tail('web-v1-1', 2).map((l) => l.line)).toEqual(['a4', 'a5']);
  });

  it('streams new matching lines to followers until they unsubscribe', () => {
    const store = new LogStore({ clock: new FakeClock(), ringLines: 10 });
    const got: LogLine[] = [];
    const stop = store.follow({ service: 'web', version: 'v1' }, (line) => got.push(line));
    store.append(a, 'stdout', 'one');
    store.append(b, 'stdout', 'not v1');
    store.append(a, 'stderr', 'two');
    stop();
    store.append(a, 'stdout', 'three');
    expect(got.map((l) => [l.line, l.stream])).toEqual([
      ['one', 'stdout'],
      ['two', 'stderr'],
    ]);
  });

  it('evicts the rings of ended instances beyond the cap, oldest first', () => {
    const clock = new FakeClock();
    const store = new LogStore({ clock, ringLines: 10, maxEndedInstances: 1 });
    store.append(a, 'stdout', 'a');
    store.append(b, 'stdout', 'b');
    store.end(a.instance);
    clock.advance(1);
    store.end(b.instance);
    expect(store.query({ service: 'web' }).map((l) => l.line)).toEqual(['b']);
  });
});

describe('tailed output file', () => {
  function tempFile(name = 'x.out.log'): string {
    const dir = mkdtempSync(join(tmpdir(), 'opsdeck-logs-'));
    temps.push(dir);
    return join(dir, name);
  }

  /** A writer like an instance: its own O_APPEND fd on the file. */
  function writer(path: string) {
    const fd = openSync(path, 'a');
    fds.push(fd);
    return (text: string) => writeSync(fd, text);
  }

  function tail(path: string, from: number | 'end' = 'end', options: { maxLineBytes?: number; maxBacklogBytes?: number } = {}) {
    const lines: string[] = [];
    const file = new TailedFile({ path, from, onLine: (line) => lines.push(line), ...options });
    tails.push(file);
    return { file, lines };
  }

  it('reads appended lines; a partial line waits for its newline; CRLF and over-long lines', () => {
    const path = tempFile();
    writeFileSync(path, 'written before we started\n');
    const { file, lines } = tail(path, 'end', { maxLineBytes: 8 });
    const write = writer(path);
    write('hel');
    file.read();
    expect(lines).toEqual([]);
    expect(file.position()).toBe(26); // a resumer re-reads the partial line whole
    write('lo\r\nwor');
    file.read();
    write('ld\n0123456789abc');
    file.read();
    // Split at a character boundary, never inside a UTF-8 sequence.
    write('\nééééé\nlast words');
    file.read();
    file.flush();
    expect(lines).toEqual(['hello', 'world', '01234567', '89abc', 'éééé', 'é', 'last wor', 'ds']);
  });

  it('rotates by copy-then-truncate: the writer keeps appending at the new start, the tailer follows', () => {
    const path = tempFile();
    const { file, lines } = tail(path);
    const write = writer(path);
    const line = (i: number) => `line ${String(i).padStart(3, '0')} ${'.'.repeat(20)}\n`; // 30 bytes
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 4; i++) write(line(round * 4 + i));
      write('partial '); // a line in progress across the rotation
      expect(file.rotateIfOver({ maxBytes: 100, keep: 2 })).toBe(true);
      write(`end of ${round}\n`);
      file.read();
    }
    expect(file.rotateIfOver({ maxBytes: 100, keep: 2 })).toBe(false);
    expect(readdirSync(join(path, '..')).sort()).toEqual(['x.out.log', 'x.out.log.1', 'x.out.log.2']);
    // O_APPEND: after the truncation the writer went on at offset 0, not at its old offset (no NUL hole).
    expect(readFileSync(path, 'utf8')).toBe('end of 3\n');
    expect(readFileSync(`${path}.1`, 'utf8')).toBe(`end of 2\n${[12, 13, 14, 15].map(line).join('')}partial `);
    expect(readFileSync(`${path}.2`, 'utf8').startsWith('end of 1\n')).toBe(true);
    expect(lines.filter((l) => l.startsWith('line')).map((l) => l.slice(0, 8))).toEqual(
      Array.from({ length: 16 }, (_, i) => `line ${String(i).padStart(3, '0')}`),
    );
    expect(lines.filter((l) => !l.startsWith('line'))).toEqual([0, 1, 2, 3].map((r) => `partial end of ${r}`));
  });

  it('notices a truncation by someone else and reads from the start again', () => {
    const path = tempFile();
    const { file, lines } = tail(path);
    const write = writer(path);
    write('one\ntwo\n');
    file.read();
    truncateSync(path, 0);
    write('three\n');
    file.read();
    expect(lines).toEqual(['one', 'two', 'three']);
  });

  it('resumes from a recorded offset, skipping a torn line and bounding the backlog', () => {
    const path = tempFile();
    writeFileSync(path, 'aaaa\nbbbb\ncccc\ndddd\n');
    const resumed = tail(path, 5);
    resumed.file.read();
    expect(resumed.lines).toEqual(['bbbb', 'cccc', 'dddd']);
    const torn = tail(path, 7); // inside "bbbb": not a line start
    torn.file.read();
    expect(torn.lines).toEqual(['cccc', 'dddd']);
    const bounded = tail(path, 0, { maxBacklogBytes: 7 }); // the last 7 bytes: "cc\ndddd\n"
    bounded.file.read();
    expect(bounded.lines).toEqual(['dddd']);
    const truncated = tail(path, 1_000); // past the end: the file was truncated since
    truncated.file.read();
    expect(truncated.lines).toEqual(['aaaa', 'bbbb', 'cccc', 'dddd']);
  });
});

describe('instance logs', () => {
  it('captures stdout and stderr through output files: queryable, followable, rotated by copytruncate', async () => {
    const { supervisor, stateDir } = createHarness({ tuning: { logFileMaxBytes: 2_000, logFileKeep: 2 } });
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 2, env: { LOG_REQUESTS: '1' } }])]);
    const ready = await waitFor('2 ready', () => readyInstances(supervisor, 'web').length === 2 && readyInstances(supervisor, 'web'));
    const startLines = supervisor.logs({ service: 'web' });
    expect(startLines.map((l) => [l.instance, l.stream, l.line.split(' listening')[0]]).sort()).toEqual([
      ['web-v1-1', 'stdout', 'fixture-server web-v1-1'],
      ['web-v1-2', 'stdout', 'fixture-server web-v1-2'],
    ]);

    const followed: LogLine[] = [];
    const unfollow = supervisor.followLogs({ service: 'web', instance: 'web-v1-1' }, (line) => followed.push(line));
    const one = ready.find((i) => i.id === 'web-v1-1')!;
    await httpGet(one.port, '/first');
    await waitFor('followed line', () => followed.some((l) => l.line.startsWith('GET /first 200')));
    unfollow();

    // ~6 KB of output against a 2 KB limit: the file is rotated (at least) twice meanwhile.
    const cursor = supervisor.logs({ service: 'web' }).at(-1)!.seq;
    for (let i = 0; i < 90; i++) await httpGet(one.port, `/req-${i}-${'x'.repeat(40)}`);
    const after = await waitFor('90 request lines', () => {
      const lines = supervisor.logs({ service: 'web', instance: 'web-v1-1', afterSeq: cursor });
      return lines.length === 90 && lines;
    });
    expect(after.map((l) => l.line.split('-x')[0])).toEqual(Array.from({ length: 90 }, (_, i) => `GET /req-${i}`));
    expect(after[0]!.line).toMatch(/^GET \/req-0-x+ 200 \d+ms$/);
    expect(after.every((l, i) => l.stream === 'stdout' && (i === 0 || l.seq > after[i - 1]!.seq))).toBe(true);
    expect(supervisor.logs({ service: 'web', instance: 'web-v1-1', limit: 1 })[0]!.line).toContain('/req-89-');
    expect(followed.every((l) => l.instance === 'web-v1-1')).toBe(true);
    expect(followed.some((l) => l.line.includes('/req-'))).toBe(false);

    await supervisor.stop();
    // The last lines before the exit are read before the stop is reported.
    expect(supervisor.logs({ service: 'web', instance: 'web-v1-1', limit: 1 })[0]!.line).toContain('drained, exiting');
    const logDir = join(stateDir, 'logs');
    expect(readdirSync(logDir).sort()).toEqual([
      'web-v1-1.err.log',
      'web-v1-1.out.log',
      'web-v1-1.out.log.1',
      'web-v1-1.out.log.2',
      'web-v1-2.err.log',
      'web-v1-2.out.log',
    ]);
    const current = readFileSync(join(logDir, 'web-v1-1.out.log'), 'utf8');
    // What the instance wrote, byte for byte; after each truncation it went on at the start (O_APPEND).
    expect(current).toMatch(/^GET \/req-\d+-x+ 200 \d+ms\n/);
    expect(current).toContain('drained, exiting');
    for (const name of ['web-v1-1.out.log', 'web-v1-1.out.log.1', 'web-v1-1.out.log.2']) {
      expect(readFileSync(join(logDir, name), 'utf8')).not.toContain('\0');
    }
    expect(readFileSync(join(logDir, 'web-v1-2.out.log'), 'utf8')).toContain('listening on 127.0.0.1');
    expect(readFileSync(join(logDir, 'web-v1-1.err.log'), 'utf8')).toBe('');
    expect(existsSync(join(logDir, 'web-v1-1.out.log.3'))).toBe(false);
  });
});
