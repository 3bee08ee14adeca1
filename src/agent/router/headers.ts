import type { IncomingMessage } from 'node:http';

/**
 * Hop-by-hop headers (RFC 7230 §6.1) describe one connection and must not be forwarded; `proxy-connection`
 * is the non-standard variant old clients still send. `expect` is dropped too: the router's own server has
 * already answered `100 Continue` to the client.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const DROPPED_REQUEST = new Set([...HOP_BY_HOP, 'expect', 'x-forwarded-for', 'x-forwarded-proto']);

export const VERSION_HEADER = 'x-opsdeck-version';
export const INSTANCE_HEADER = 'x-opsdeck-instance';
export const FAULT_HEADER = 'x-opsdeck-fault';

export interface RequestHead {
  /** Headers for the upstream request as a flat name/value list (keeps order, case and duplicates). */
  headers: string[];
  /** `x-opsdeck-version`, when the client pins a version. */
  override: string | undefined;
  /** The configured stickiness header's value. */
  sticky: string | undefined;
  cookie: string | undefined;
  /** Whether a body follows (content-length > 0 or chunked). */
  hasBody: boolean;
  /** Declared length; -1 when chunked. */
  bodyLength: number;
}

/** One pass over the raw request headers: what to forward and what routing needs. */
export function readRequestHead(req: IncomingMessage, stickyHeader: string | undefined): RequestHead {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  const head: RequestHead = { headers, override: undefined, sticky: undefined, cookie: undefined, hasBody: false, bodyLength: 0 };
  let forwardedFor: string | undefined;
  let proto: string | undefined;
  let connection: string | undefined;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    const lower = name.toLowerCase();
    if (DROPPED_REQUEST.has(lower)) {
      if (lower === 'x-forwarded-for') forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
      else if (lower === 'x-forwarded-proto') proto ??= value;
      else if (lower === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`;
      else if (lower === 'transfer-encoding') chunked = true;
      continue;
    }
    if (lower === VERSION_HEADER) head.override ??= value;
    else if (lower === 'cookie') head.cookie = head.cookie === undefined ? value : `${head.cookie}; ${value}`;
    else if (lower === 'content-length') {
      head.bodyLength = Number(value);
      head.hasBody = head.bodyLength > 0;
    }
    if (lower === stickyHeader) head.sticky ??= value;
    headers.push(name, value);
  }
  if (connection !== undefined) removeConnectionTokens(headers, connection);
  if (chunked) {
    // Framing is per hop, but the upstream hop needs framing too: Node would send a GET body unframed.
    head.hasBody = true;
    head.bodyLength = -1;
    headers.push('transfer-encoding', 'chunked');
  }
  const client = req.socket.remoteAddress ?? '';
  headers.push('x-forwarded-for', forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
  headers.push('x-forwarded-proto', proto ?? 'http');
  return head;
}

/**
 * The upstream response's headers minus hop-by-hop ones, plus where the request was served and which
 * injected faults (latency) touched it.
 */
export function responseHeaders(raw: string[], version: string, instance: string, close: boolean, faults?: string): string[] {
  const headers: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') connection = connection === undefined ? raw[i + 1] : `${connection}, ${raw[i + 1]}`;
      continue;
    }
    headers.push(raw[i], raw[i + 1]);
  }
  if (connection !== undefined) removeConnectionTokens(headers, connection);
  headers.push(VERSION_HEADER, version, INSTANCE_HEADER, instance);
  if (faults !== undefined) headers.push(FAULT_HEADER, faults);
  if (close) headers.push('connection', 'close');
  return headers;
}

/** Headers named in `Connection` are hop-by-hop for this message only (RFC 7230 §6.1). */
function removeConnectionTokens(headers: string[], connection: string): void {
  const tokens = connection
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t && t !== 'close' && t !== 'keep-alive');
  if (tokens.length === 0) return;
  const named = new Set(tokens);
  for (let i = headers.length - 2; i >= 0; i -= 2) if (named.has(headers[i].toLowerCase())) headers.splice(i, 2);
}
