import { describe, expect, it } from 'vitest';
import { logLine, ndjson } from './logs.js';

describe('logs command', () => {
  it('prints a line with its time and instance, marking stderr', () => {
    const line = { seq: 1, at: Date.UTC(2026, 0, 2, 10), service: 'feed', version: '1.0.0', instance: 'feed-1.0.0-1', line: 'hi' };
    expect(logLine({ ...line, stream: 'stdout' })).toBe('2026-01-02 10:00:00Z feed-1.0.0-1  hi');
    expect(logLine({ ...line, stream: 'stderr' })).toBe('2026-01-02 10:00:00Z feed-1.0.0-1 [stderr]  hi');
  });

  it('reads NDJSON split anywhere across chunks, skipping keep-alive blank lines', async () => {
    const text = '{"seq":1}\n\n{"se' + 'q":2}\n' + '\n{"seq":3}\n';
    const bytes = new TextEncoder().encode(text);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 5) yield bytes.slice(i, i + 5);
    }
    const seen: number[] = [];
    for await (const v of ndjson<{ seq: number }>(chunks())) seen.push(v.seq);
    expect(seen).toEqual([1, 2, 3]);
  });
});
