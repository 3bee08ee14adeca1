import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses id, event and data, across arbitrary chunk boundaries', () => {
    const stream =
      ': connected\n\nid: 7\nevent: resources.service.applied\ndata: {"seq":7}\n\nid: 8\r\nevent: x\r\ndata: {"seq":8}\r\n\r\n';
    for (const size of [1, 3, 7, stream.length]) {
      const parser = new SseParser();
      const messages = [];
      for (let i = 0; i < stream.length; i += size) messages.push(...parser.push(stream.slice(i, i + size)));
      expect(messages).toEqual([
        { id: '7', event: 'resources.service.applied', data: '{"seq":7}' },
        { id: '8', event: 'x', data: '{"seq":8}' },
      ]);
    }
  });

  it('joins multi-line data, defaults the event name and keeps the last id', () => {
    const parser = new SseParser();
    expect(parser.push('id: 1\ndata: a\ndata:b\n\ndata: c\n\n')).toEqual([
      { id: '1', event: 'message', data: 'a\nb' },
      { id: '1', event: 'message', data: 'c' },
    ]);
  });

  it('ignores comments (heartbeats) and blocks without data', () => {
    const parser = new SseParser();
    expect(parser.push(': keep-alive\n\nevent: nothing\n\n')).toEqual([]);
  });
});
