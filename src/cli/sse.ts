import { setTimeout as delay } from 'node:timers/promises';
import { type SseMessage, SseParser } from '../core/http/sse-parser.js';
import { CliError } from './cli-error.js';
import { type ApiClient, type Query, UnreachableError } from './client.js';

export { type SseMessage, SseParser } from '../core/http/sse-parser.js';

export interface WatchOptions {
  client: ApiClient;
  path: string;
  query: Query;
  signal: AbortSignal;
  onMessage(message: SseMessage): void;
  /** Called each time the stream is (re)established. */
  onConnect?(): void;
  /** Called when an established stream dropped and we are reconnecting. */
  onReconnect?(reason: string): void;
  /** Resume after this event id (the server replays what came after it). */
  lastEventId?: string;
  retryMs?: number;
}

/**
 * Follows an SSE stream until `signal` aborts. A stream that drops after it was established is
 * resumed with Last-Event-ID, so a server restart loses nothing; failing to connect the first
 * time, or any HTTP error (401, 403), ends the watch with that error.
 */
export async function watchStream(options: WatchOptions): Promise<void> {
  const { client, signal } = options;
  let lastId = options.lastEventId;
  let connected = false;
  while (!signal.aborted) {
    try {
      const response = await client.stream(options.path, options.query, {
        signal,
        headers: lastId ? { 'last-event-id': lastId } : {},
      });
      connected = true;
      options.onConnect?.();
      if (!response.body) throw new UnreachableError('the event stream had no body');
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (message.id) lastId = message.id;
          options.onMessage(message);
        }
      }
      options.onReconnect?.('the server closed the event stream');
    } catch (err) {
      if (signal.aborted) return;
      const httpError = err instanceof CliError && !(err instanceof UnreachableError);
      if (!connected || httpError) throw err;
      options.onReconnect?.(err instanceof Error ? err.message : String(err));
    }
    await delay(options.retryMs ?? 1000, undefined, { signal }).catch(() => undefined);
  }
}
