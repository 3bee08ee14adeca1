import { type ClientRequest, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { type RouterContext, reportOutcome } from './context.js';
import type { EndpointState } from './endpoints.js';
import type { FaultDecision } from './faults.js';
import { FAULT_HEADER, INSTANCE_HEADER, type RequestHead, responseHeaders, VERSION_HEADER } from './headers.js';
import { BodyRecorder, MAX_BUFFERED_BODY, sendMirror } from './mirror.js';
import { sendError } from './responses.js';
import type { ServiceRuntime, VersionRoute } from './service-runtime.js';
import { ERROR_CLASS, statusClass } from './traffic.js';

/** Methods safe to send twice (RFC 9110 §9.2.2); only these are retried after a connection failure. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** Failures that mean the request most likely never reached the application. */
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

class UpstreamTimeout extends Error {}

interface Attempt {
  endpoint: EndpointState;
  up: ClientRequest;
  responded: boolean;
  done: boolean;
}

export interface ExchangeOptions {
  ctx: RouterContext;
  rt: ServiceRuntime;
  route: VersionRoute;
  req: IncomingMessage;
  res: ServerResponse;
  head: RequestHead;
  /** performance.now() when the request arrived. */
  started: number;
  /** The listener is closing: responses ask the client to close its connection. */
  owner: { closing: boolean };
}

/** One client request proxied to one version: faults, endpoint choice, retry, timeout, mirror, metrics. */
export class Exchange {
  private recorder: BodyRecorder | undefined;
  private attempt: Attempt | undefined;
  private retried = false;
  private clientGone = false;
  /** The router answered for a failure (502/504/503, abort): counts as class `error`. */
  private failed = false;
  private faultIds: string | undefined;

  constructor(private readonly o: ExchangeOptions) {}

  run(decision: FaultDecision | undefined): void {
    this.o.route.stats.inFlight++;
    this.o.res.once('close', this.onClientClose);
    if (decision === undefined) this.dispatch();
    else this.applyFaults(decision);
  }

  private applyFaults(decision: FaultDecision): void {
    const { ctx, rt, route } = this.o;
    for (const f of decision.fired) ctx.metrics.faultInjected(rt.name, route.name, f.kind);
    this.faultIds = decision.fired.map((f) => f.id).join(', ');
    if (decision.delayMs <= 0) {
      this.afterDelay(decision);
      return;
    }
    setTimeout(() => {
      if (!this.clientGone) this.afterDelay(decision);
    }, decision.delayMs);
  }

  private afterDelay(decision: FaultDecision): void {
    const { req, res, route, owner } = this.o;
    if (decision.abort) {
      this.failed = true;
      req.socket.destroy();
    } else if (decision.status !== undefined) {
      const message = `fault ${this.faultIds} injected by opsdeck: status ${decision.status}`;
      sendError(
        res,
        decision.status,
        { code: 'injected_fault', message, details: { faults: decision.fired.map((f) => f.id) } },
        {
          headers: [VERSION_HEADER, route.name, FAULT_HEADER, this.faultIds ?? ''],
          close: owner.closing,
        },
      );
    } else this.dispatch();
  }

  private dispatch(): void {
    const { ctx, rt, route, req, head } = this.o;
    const endpoint = route.pool.pick(ctx.clock.now());
    if (!endpoint) {
      this.failed = true;
      this.error(503, 'no_endpoints', `version ${route.name} of service ${rt.name} has no ready instances`);
      return;
    }
    const mirror = rt.mirror;
    const mirrored =
      mirror !== undefined && mirror.route !== route && head.bodyLength <= MAX_BUFFERED_BODY && ctx.random() * 100 < mirror.percent;
    if (head.hasBody) {
      if (mirrored || IDEMPOTENT.has(req.method ?? '')) this.recorder = new BodyRecorder(req);
      req.on('error', this.onClientClose);
    }
    this.send(endpoint);
    if (mirrored) this.mirror(mirror.route);
  }

  private send(endpoint: EndpointState): void {
    const { rt, req, head } = this.o;
    endpoint.acquire();
    const up = request({
      host: endpoint.host,
      port: endpoint.port,
      method: req.method,
      path: req.url,
      headers: head.headers,
      agent: endpoint.agent,
      timeout: rt.routing.timeoutMs,
    });
    const attempt: Attempt = { endpoint, up, responded: false, done: false };
    this.attempt = attempt;
    // Socket idle time: before the response that is time to first byte (504), after it a stalled body.
    up.on('timeout', () => up.destroy(new UpstreamTimeout()));
    up.on('error', (err: NodeJS.ErrnoException) => this.onUpstreamError(attempt, err));
    up.on('response', (upRes) => this.onResponse(attempt, upRes));
    if (!head.hasBody) {
      up.end();
      return;
    }
    const recorded = this.retried ? this.recorder : undefined;
    if (recorded) {
      for (const chunk of recorded.chunks) up.write(chunk);
      if (recorded.ended) {
        up.end();
        return;
      }
    }
    req.pipe(up);
  }

  private onResponse(attempt: Attempt, upRes: IncomingMessage): void {
    const { ctx, rt, route, res, owner } = this.o;
    attempt.responded = true;
    const status = upRes.statusCode ?? 502;
    reportOutcome(ctx, rt, route, attempt.endpoint, status >= 500);
    // 'close' comes after 'end', or alone when the upstream died mid-body; then the client's connection
    // is cut so it cannot mistake a truncated body for a complete one.
    upRes.once('close', () => {
      this.finish(attempt);
      if (this.clientGone) return;
      if (upRes.complete) res.end();
      else {
        this.failed = true;
        res.destroy();
      }
    });
    if (this.clientGone) {
      upRes.resume();
      return;
    }
    res.writeHead(status, responseHeaders(upRes.rawHeaders, route.name, attempt.endpoint.id, owner.closing, this.faultIds));
    // Forwarded by hand rather than with pipe(): a handful fewer listeners per request on the hot path.
    upRes.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) {
        upRes.pause();
        res.once('drain', () => upRes.resume());
      }
    });
  }

  private onUpstreamError(attempt: Attempt, err: NodeJS.ErrnoException): void {
    if (attempt.done) return;
    if (attempt.responded) {
      this.failed = true;
      this.o.res.destroy();
      return;
    }
    this.finish(attempt);
    const { ctx, rt, route, req, head } = this.o;
    if (head.hasBody) req.unpipe(attempt.up);
    if (this.clientGone) return;
    reportOutcome(ctx, rt, route, attempt.endpoint, true);
    const timedOut = err instanceof UpstreamTimeout;
    if (!timedOut && this.canRetry(err)) {
      const now = ctx.clock.now();
      let next = route.pool.pick(now, attempt.endpoint);
      // A kept-alive socket the upstream closed as we reused it: a fresh connection to the same one is fine.
      if (!next && attempt.up.reusedSocket && err.code === 'ECONNRESET' && route.pool.pick(now) === attempt.endpoint)
        next = attempt.endpoint;
      if (next) {
        this.retried = true;
        this.send(next);
        return;
      }
    }
    this.failed = true;
    if (timedOut) this.error(504, 'gateway_timeout', `instance ${attempt.endpoint.id} did not answer within ${rt.routing.timeoutMs} ms`);
    else this.error(502, 'bad_gateway', `instance ${attempt.endpoint.id} failed: ${err.code ?? err.message}`);
  }

  private canRetry(err: NodeJS.ErrnoException): boolean {
    const { req, head } = this.o;
    if (this.retried || !IDEMPOTENT.has(req.method ?? '') || !RETRYABLE.has(err.code ?? '')) return false;
    return !head.hasBody || (this.recorder !== undefined && !this.recorder.overflow);
  }

  private mirror(route: VersionRoute): void {
    const { ctx, rt, req, head } = this.o;
    const copy = { method: req.method ?? 'GET', path: req.url ?? '/', headers: head.headers, body: [] as Buffer[] };
    // After the primary request is on its way: the shadow copy never delays it.
    if (!head.hasBody) setImmediate(() => sendMirror(ctx, rt, route, copy));
    else this.recorder?.whenComplete(() => sendMirror(ctx, rt, route, { ...copy, body: this.recorder?.chunks ?? [] }));
  }

  private finish(attempt: Attempt): void {
    if (attempt.done) return;
    attempt.done = true;
    attempt.endpoint.release();
  }

  private error(status: number, code: string, message: string): void {
    const { rt, route, res, owner } = this.o;
    const headers = [VERSION_HEADER, route.name];
    if (this.attempt) headers.push(INSTANCE_HEADER, this.attempt.endpoint.id);
    sendError(res, status, { code, message, details: { service: rt.name, version: route.name } }, { headers, close: owner.closing });
  }

  /** Runs once per request when the response is done or the client went away: abort upstream, record. */
  private onClientClose = (): void => {
    const { res, route, started } = this.o;
    if (this.clientGone) return;
    const finished = res.writableFinished;
    this.clientGone = true;
    const attempt = this.attempt;
    if (!finished && attempt && !attempt.done) attempt.up.destroy();
    route.stats.inFlight--;
    route.stats.record(this.failed || !finished ? ERROR_CLASS : statusClass(res.statusCode), performance.now() - started);
  };
}
