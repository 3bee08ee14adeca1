import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { RouterContext } from './context.js';
import { Exchange } from './exchange.js';
import { readRequestHead } from './headers.js';
import { sendError } from './responses.js';
import { type ServiceRuntime, selectRoute } from './service-runtime.js';
import { ERROR_CLASS, statusClass } from './traffic.js';

/**
 * Above the idle timeouts of common load balancers in front (60 s), so they close first and never reuse
 * a connection the router has just closed.
 */
const CLIENT_KEEP_ALIVE_MS = 65_000;

/** The listener of one service on its public port. */
export class ServiceProxy {
  closing = false;
  private readonly server: Server;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly ctx: RouterContext,
    /** Swapped by apply(); each request reads it once. */
    public runtime: ServiceRuntime,
    readonly host: string,
    /** The desired port (0 lets the OS choose; see address()). */
    readonly port: number,
  ) {
    this.server = createServer({ keepAliveTimeout: CLIENT_KEEP_ALIVE_MS, noDelay: true }, this.handle);
    this.server.headersTimeout = CLIENT_KEEP_ALIVE_MS + 1000;
  }

  listen(): Promise<void> {
    const { server } = this;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(this.port, this.host, () => {
        server.off('error', onError);
        server.on('error', (err) => this.ctx.logger.error({ err, service: this.runtime.name }, 'router listener error'));
        resolve();
      });
    });
  }

  /** The bound port (differs from `port` when that is 0). */
  address(): number | undefined {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }

  /**
   * Stops accepting at once (the port is free when this returns), lets requests in flight finish and
   * closes their connections after them; connections still open after `graceMs` are cut.
   */
  close(graceMs: number): Promise<void> {
    if (this.closed) return this.closed;
    this.closing = true;
    const { server } = this;
    this.closed = new Promise((resolve) => {
      if (!server.listening) return resolve();
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
    return this.closed;
  }

  private handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const { ctx } = this;
    const rt = this.runtime;
    const head = readRequestHead(req, rt.stickyHeader);
    const now = ctx.clock.now();
    const route = head.override === undefined ? selectRoute(rt, head, now, ctx.random) : rt.byName.get(head.override);
    if (route === undefined) this.unrouted(rt, res, head.override, started);
    else new Exchange({ ctx, rt, route, req, res, head, started, owner: this }).run(ctx.faults.decide(rt.name, route.name, now));
  };

  /** No version to send to: the pinned one is unknown (404) or no weighted version is routable (503). */
  private unrouted(rt: ServiceRuntime, res: ServerResponse, override: string | undefined, started: number): void {
    if (override !== undefined) {
      const known = rt.versions.map((v) => v.name);
      sendError(
        res,
        404,
        {
          code: 'unknown_version',
          message: `service ${rt.name} has no version "${override}"; known versions: ${known.join(', ') || 'none'}`,
          details: { service: rt.name, version: override, known },
        },
        { close: this.closing },
      );
    } else {
      sendError(
        res,
        503,
        {
          code: 'no_endpoints',
          message: `service ${rt.name} has no ready instances in any version that takes traffic`,
          details: { service: rt.name, versions: rt.versions.map((v) => ({ version: v.name, endpoints: v.pool.endpoints.length })) },
        },
        { close: this.closing },
      );
    }
    rt.unrouted.record(override !== undefined ? statusClass(404) : ERROR_CLASS, performance.now() - started);
  }
}
