import type { Executor } from '../db/database.js';

/** A domain event as stored in the outbox. `seq` orders the stream and is the subscriber cursor. */
export interface DomainEvent {
  seq: number;
  id: string;
  /** Dotted topic: `<module>.<entity>.<verb>`, e.g. `catalog.service.applied`. */
  type: string;
  at: number;
  actor: string | null;
  /** The service it concerns, if any (the change timeline is filtered by it). */
  service: string | null;
  /** What it is about, e.g. `Service/feed` or `INC-12`. */
  subject: string | null;
  /** True for things that changed production (applies, rollout steps, restarts, faults): the change timeline. */
  change: boolean;
  data: unknown;
}

export interface PublishInput {
  type: string;
  data?: unknown;
  actor?: string | null;
  service?: string | null;
  subject?: string | null;
  change?: boolean;
}

export interface EventQuery {
  /** Topic patterns: exact, or a prefix ending in `.*` (`incidents.*`), or `*`. */
  types?: string[];
  service?: string;
  since?: number;
  afterSeq?: number;
  changesOnly?: boolean;
  limit?: number;
  /** Newest first instead of oldest first. */
  newestFirst?: boolean;
}

export interface Subscriber {
  /** Stable id: the cursor is stored under it. */
  id: string;
  types: string[];
  /** Runs inside the transaction that advances the cursor: DB effects are exactly-once, other effects at-least-once. */
  handle(event: DomainEvent, tx: Executor): Promise<void>;
}

export interface Events {
  /** Appends to the outbox inside the caller's transaction. */
  publish(tx: Executor, input: PublishInput): Promise<void>;
  list(query: EventQuery): Promise<DomainEvent[]>;
  subscribe(subscriber: Subscriber): void;
  /** In-process live feed of committed events (SSE); returns an unsubscribe function. */
  listen(listener: (event: DomainEvent) => void): () => void;
  /** Delivers pending events to durable subscribers once; for tests and the worker loop. */
  dispatch(): Promise<number>;
  start(options: { api: boolean; worker: boolean }): Promise<void>;
  stop(): Promise<void>;
  /** Per-subscriber lag in events (metrics). */
  lag(): Promise<{ subscriber: string; lag: number }[]>;
}

/** Whether a topic matches a pattern list (`*`, exact, or `prefix.*`). */
export function topicMatches(type: string, patterns: string[] | undefined): boolean {
  if (!patterns || patterns.length === 0) return true;
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}
