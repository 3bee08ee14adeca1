import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { type RouterContext, reportOutcome } from './context.js';
import type { ServiceRuntime, VersionRoute } from './service-runtime.js';
import { ERROR_CLASS, statusClass } from './traffic.js';

/** Largest request body kept in memory for a mirror copy or a retry; bigger bodies get neither. */
export const MAX_BUFFERED_BODY = 1024 * 1024;

/**
 * Keeps a copy of a request body as it streams to the upstream (it listens next to the pipe, so it sees
 * the same chunks and adds no buffering to the primary path). Gives up past the limit.
 */
export class BodyRecorder {
  chunks: Buffer[] = [];
  overflow = false;
  ended = false;
  private size = 0;
  private endListeners: Array<() => void> = [];

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit = MAX_BUFFERED_BODY,
  ) {
    req.on('data', this.onData);
    req.once('end', this.onEnd);
  }

  /** Calls `fn` once the whole body is recorded; never if it overflowed. */
  whenComplete(fn: () => void): void {
    if (this.overflow) return;
    if (this.ended) fn();
    else this.endListeners.push(fn);
  }

  private onData = (chunk: Buffer) => {
    this.size += chunk.length;
    if (this.size <= this.limit) {
      this.chunks.push(chunk);
      return;
    }
    this.overflow = true;
    this.chunks = [];
    this.endListeners = [];
    this.req.off('data', this.onData);
  };

  private onEnd = () => {
    this.ended = true;
    const listeners = this.endListeners;
    this.endListeners = [];
    for (const fn of listeners) fn();
  };
}

export interface MirrorRequest {
  method: string;
  path: string;
  /** The primary's upstream headers (flat list); copied, never mutated. */
  headers: string[];
  body: Buffer[];
}

/**
 * Sends a shadow copy to the mirror version and throws the answer away. It runs on its own: errors,
 * timeouts and slowness end here and never reach the client's response.
 */
export function sendMirror(ctx: RouterContext, rt: ServiceRuntime, route: VersionRoute, copy: MirrorRequest): void {
  const endpoint = route.pool.pick(ctx.clock.now());
  if (!endpoint) return;
  const { stats } = route;
  endpoint.acquire();
  stats.mirrorInFlight++;
  let done = false;
  const finish = (cls: number, failed: boolean) => {
    if (done) return;
    done = true;
    endpoint.release();
    stats.mirrorInFlight--;
    ctx.metrics.mirrorDone(rt.name, route.name, cls);
    reportOutcome(ctx, rt, route, endpoint, failed);
  };
  const up = request({
    host: endpoint.host,
    port: endpoint.port,
    method: copy.method,
    path: copy.path,
    headers: [...copy.headers, 'x-opsdeck-mirrored', 'true'],
    agent: endpoint.agent,
    timeout: rt.routing.timeoutMs,
  });
  up.on('timeout', () => up.destroy());
  up.on('error', () => finish(ERROR_CLASS, true));
  up.on('response', (res) => {
    const status = res.statusCode ?? 502;
    res.on('error', () => finish(ERROR_CLASS, true));
    res.on('end', () => finish(statusClass(status), status >= 500));
    res.on('close', () => finish(ERROR_CLASS, true));
    res.resume();
  });
  for (const chunk of copy.body) up.write(chunk);
  up.end();
}
