import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Long-lived responses (SSE, followed logs) of one server, ended at shutdown instead of holding it for the grace period. */
export class LongLivedResponses {
  private open = new Set<ServerResponse>();

  add(res: ServerResponse): void {
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
  }

  closeAll(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    longLived: LongLivedResponses;
  }
}

/** Registers the registry on the server and ends every open stream when it starts closing. */
export function installLongLived(app: FastifyInstance): void {
  app.decorate('longLived', new LongLivedResponses());
  app.addHook('preClose', async () => app.longLived.closeAll());
}

/**
 * Starts a long-lived response outside Fastify's reply cycle. `connection: close` makes Node drop
 * the socket when the stream ends, so a closing server does not wait for a keep-alive timeout.
 * The stream ends when the server shuts down; `onClose` runs once however it ends.
 */
export function openStream(
  request: FastifyRequest,
  reply: FastifyReply,
  contentType: string,
  onClose: () => void = () => {},
): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', connection: 'close', 'x-request-id': String(request.id) });
  request.server.longLived.add(res);
  res.on('close', onClose);
  return res;
}

/** Copies a fetched body (e.g. an agent's NDJSON) to a long-lived response until either side ends. */
export async function relay(
  request: FastifyRequest,
  reply: FastifyReply,
  body: ReadableStream<Uint8Array>,
  contentType: string,
): Promise<void> {
  const reader = body.getReader();
  const res = openStream(request, reply, contentType, () => void reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || res.writableEnded) break;
      res.write(value);
    }
  } catch {
    // The far side went away or we cancelled: end the response either way.
  }
  if (!res.writableEnded) res.end();
}
