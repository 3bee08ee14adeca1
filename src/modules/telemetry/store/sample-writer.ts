import { bulkInsertIgnore } from '../../../core/db/bulk.js';
import { type Database, type Tx, transaction } from '../../../core/db/database.js';
import { chunks, ID_CHUNK } from './batching.js';

const SAMPLES_BULK = {
  table: 'telemetry_samples',
  columns: [
    { name: 'series_id', type: 'bigint' },
    { name: 't', type: 'bigint' },
    { name: 'v', type: 'double precision' },
    { name: 'stale', type: 'smallint' },
  ],
  conflict: ['series_id', 't'],
} as const satisfies Parameters<typeof bulkInsertIgnore>[2];

/** One write's rows, as columns. */
export interface SampleRows {
  length: number;
  seriesId: number[];
  t: number[];
  /** null for NaN and staleness markers. */
  v: (number | null)[];
  stale: number[];
  /** Series whose last_seen to set to `now`. */
  touched: number[] | undefined;
  now: number;
}

interface Pending {
  rows: SampleRows;
  resolve(inserted: number): void;
  reject(err: unknown): void;
}

/** A group stops growing at this many rows, so one transaction stays short. */
const MAX_GROUP_ROWS = 50_000;

/**
 * Writes sample rows, committing writes that arrive while a transaction is running together in the
 * next one. Each write still resolves only once its rows are committed, with its own count of rows
 * inserted. Why: rows are clustered by (series, time), so consecutive samples of one series land on
 * the same page, and a commit writes each page it dirtied once. Concurrent pushes of successive
 * rounds of the same series then share page writes (and, on PostgreSQL, one WAL flush), where
 * separate transactions would write the same page again each time.
 */
export class SampleWriter {
  private queue: Pending[] = [];
  private draining = false;

  constructor(private readonly database: Database) {}

  /** Resolves with the rows inserted (the others duplicated a stored (series, t)) once committed. */
  write(rows: SampleRows): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length) {
        // Let writes whose requests have arrived meanwhile join: on SQLite a transaction never yields
        // to I/O, so without this turn of the event loop a group would always be one write.
        await new Promise((resolve) => setImmediate(resolve));
        let size = 0;
        let take = 0;
        while (take < this.queue.length && (take === 0 || size + this.queue[take]!.rows.length <= MAX_GROUP_ROWS)) {
          size += this.queue[take]!.rows.length;
          take++;
        }
        const group = this.queue.splice(0, take);
        try {
          const inserted = await this.commit(group);
          for (let i = 0; i < group.length; i++) group[i]!.resolve(inserted[i]!);
        } catch (err) {
          if (group.length === 1) group[0]!.reject(err);
          // One bad write must not fail the others: each on its own, then.
          else for (const p of group) await this.commit([p]).then(([n]) => p.resolve(n!), p.reject);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private commit(group: Pending[]): Promise<number[]> {
    return transaction(this.database.db, async (tx) => {
      const inserted: number[] = [];
      for (const { rows } of group) {
        const { seriesId, t, v, stale } = rows;
        inserted.push(await bulkInsertIgnore(this.database, tx, SAMPLES_BULK, [seriesId, t, v, stale], rows.length));
        if (rows.touched) await touch(tx, rows.touched, rows.now);
      }
      return inserted;
    });
  }
}

async function touch(tx: Tx, ids: number[], now: number): Promise<void> {
  for (const part of chunks([...new Set(ids)], ID_CHUNK)) {
    await tx.updateTable('telemetry_series').set({ last_seen: now }).where('id', 'in', part).execute();
  }
}
