import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { readRequestHead, responseHeaders } from './headers.js';

const fakeRequest = (raw: string[], remoteAddress = '10.0.0.9') =>
  ({ rawHeaders: raw, socket: { remoteAddress } }) as unknown as IncomingMessage;
const pairs = (flat: string[]) => Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]);

describe('headers', () => {
  it('strips hop-by-hop request headers, including those named by Connection, and appends forwarding headers', () => {
    const head = readRequestHead(
      fakeRequest([
        'Host',
        'feed.local',
        'Connection',
        'keep-alive, X-Secret',
        'X-Secret',
        'x',
        'Keep-Alive',
        'timeout=5',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Proxy-Authorization',
        'Basic x',
        'Expect',
        '100-continue',
        'X-Forwarded-For',
        '1.2.3.4',
        'X-Forwarded-Proto',
        'https',
        'X-User',
        'u1',
        'X-Opsdeck-Version',
        '1.1',
        'Set-Thing',
        'a',
        'Set-Thing',
        'b',
      ]),
      'x-user',
    );
    expect(pairs(head.headers)).toEqual([
      ['Host', 'feed.local'],
      ['X-User', 'u1'],
      ['X-Opsdeck-Version', '1.1'],
      ['Set-Thing', 'a'],
      ['Set-Thing', 'b'],
      ['x-forwarded-for', '1.2.3.4, 10.0.0.9'],
      ['x-forwarded-proto', 'https'],
    ]);
    expect(head).toMatchObject({ override: '1.1', sticky: 'u1', hasBody: false });
  });

  it('keeps bodies framed: content-length passes, chunked is re-declared for the upstream hop', () => {
    expect(readRequestHead(fakeRequest(['Content-Length', '12']), undefined)).toMatchObject({ hasBody: true, bodyLength: 12 });
    const chunked = readRequestHead(fakeRequest(['Transfer-Encoding', 'chunked']), undefined);
    expect(chunked).toMatchObject({ hasBody: true, bodyLength: -1 });
    expect(pairs(chunked.headers)).toContainEqual(['transfer-encoding', 'chunked']);
    const plain = readRequestHead(fakeRequest([]), undefined);
    expect(pairs(plain.headers)).toContainEqual(['x-forwarded-proto', 'http']);
  });

  it('strips hop-by-hop response headers and says where the request went', () => {
    const out = responseHeaders(
      [
        'Content-Type',
        'text/plain',
        'Transfer-Encoding',
        'chunked',
        'Connection',
        'keep-alive',
        'Keep-Alive',
        'timeout=5',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
      ],
      '1.1',
      'feed-1.1-2',
      true,
    );
    expect(pairs(out)).toEqual([
      ['Content-Type', 'text/plain'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['x-opsdeck-version', '1.1'],
      ['x-opsdeck-instance', 'feed-1.1-2'],
      ['connection', 'close'],
    ]);
  });
});
