import pg from 'pg';
import { type Clock, systemClock } from '../clock.js';
import type { Logger } from '../logger.js';

export interface PgListenerOptions {
  config: pg.ClientConfig;
  /** Channel name; quoted, so any characters are fine (max 63 bytes). */
  channel: string;
  logger: Logger;
  /** Called with each notification's payload. */
  onNotify(payload: string | undefined): void;
  /** Called after every (re)connect: notifications sent while disconnected are lost, so look again. */
  onConnected?(): void;
  retryMs?: number;
  clock?: Clock;
}

/**
 * A dedicated session that LISTENs on one channel (jobs wake-ups, event fan-out). PostgreSQL
 * delivers a NOTIFY sent inside a transaction at commit, so listeners never see uncommitted work.
 * Reconnects after errors; callers keep a slow poll as the fallback while it is away.
 */
export class PgListener {
  private client?: pg.Client;
  private stopped = false;
  private cancelRetry?: () => void;
  private connecting?: Promise<void>;

  constructor(private readonly options: PgListenerOptions) {}

  start(): Promise<void> {
    this.connecting = this.connect();
    return this.connecting;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      ...this.options.config,
      keepAlive: true,
      application_name: `opsdeck-listen-${this.options.channel}`.slice(0, 63),
    });
    client.on('notification', (msg) => this.options.onNotify(msg.payload));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('listen connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.options.channel}"`);
    } catch (err) {
      client.end().catch(() => {});
      this.options.logger.warn({ err, channel: this.options.channel }, 'listener could not connect; polling meanwhile');
      this.retryLater();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.options.onConnected?.();
  }

  private lost(client: pg.Client, err: Error): void {
    if (client !== this.client) return;
    this.client = undefined;
    client.end().catch(() => {});
    if (this.stopped) return;
    this.options.logger.warn({ err, channel: this.options.channel }, 'listener lost its connection; reconnecting');
    this.retryLater();
  }

  private retryLater(): void {
    if (this.stopped) return;
    this.cancelRetry = (this.options.clock ?? systemClock).setTimer(this.options.retryMs ?? 1000, () => {
      this.connecting = this.connect();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelRetry?.();
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
