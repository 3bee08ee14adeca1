import type { ServerResponse } from 'node:http';

/** A JSON error in the product's shape, `{ error: { code, message, details } }`, from the router itself. */
export function sendError(
  res: ServerResponse,
  status: number,
  error: { code: string; message: string; details?: Record<string, unknown> },
  options: { headers?: string[]; close?: boolean } = {},
): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: error.code, message: error.message, details: error.details ?? {} } });
  const headers = [
    'content-type',
    'application/json; charset=utf-8',
    'content-length',
    String(Buffer.byteLength(body)),
    'cache-control',
    'no-store',
  ];
  if (options.headers) headers.push(...options.headers);
  if (options.close) headers.push('connection', 'close');
  res.writeHead(status, headers);
  res.end(body);
}
