import type { Executor } from '../../core/db/database.js';
import type { Contact } from '../catalog/index.js';

/**
 * The seams between the on-call module's parts: schedules answer "who is on call", notifications
 * deliver a message to a person's contacts, and paging (escalation) connects the two.
 */

/** A stretch of the rendered schedule where the same people are on call, and why. */
export interface OnCallSegment {
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
  /** Empty in a gap. */
  users: string[];
  /** The layer that put them there, `override` for an override, or `none` in a gap. */
  layer: string;
  overrideId?: string;
  swapId?: string;
}

export interface SchedulesApi {
  /** Who is on call on `schedule` at `at` (the final schedule: overrides, then the highest layer with someone). */
  onCall(schedule: string, at: number, tx?: Executor): Promise<string[]>;
  /** The next shift after the one covering `at` that has people, within 8 weeks. */
  nextOnCall(schedule: string, at: number, tx?: Executor): Promise<OnCallSegment | undefined>;
  /** The final schedule over [from, to). */
  render(schedule: string, from: number, to: number, tx?: Executor): Promise<OnCallSegment[]>;
}

export type NotificationEvent = 'triggered' | 'escalated' | 'retriggered' | 'acknowledged' | 'resolved' | 'test';

/** One change on the paged service or its dependencies before the page (from alerting's "what changed"). */
export interface ChangeSummary {
  at: number;
  type: string;
  service?: string;
  subject?: string;
  summary: string;
}

/** What a notification says; every channel renders the same facts. */
export interface NotificationMessage {
  event: NotificationEvent;
  pageId?: string;
  title: string;
  summary?: string;
  service?: string;
  urgency: 'high' | 'low';
  /** Escalation step (1-based) and round (1-based) that sent it. */
  step?: number;
  round?: number;
  /** Everyone this step pages, by user name. */
  paged: string[];
  changes: ChangeSummary[];
  /** Signed one-click links; absent for tests and resolutions. */
  links?: { ack?: string; resolve?: string; view?: string };
  /** Epoch ms the page was triggered. */
  at: number;
}

export interface DeliveryRequest {
  /** Unique per (page, step, round, user, rule): enqueueing the same key again does nothing. */
  idempotencyKey: string;
  pageId?: string;
  user?: string;
  /** Tried in order: a contact that fails permanently falls back to the next. */
  contacts: Contact[];
  message: NotificationMessage;
  /** Epoch ms to send at; default now. */
  sendAt?: number;
}

export interface NotificationsApi {
  /** Queues a delivery inside `tx` (commits with the state change); false when the key was queued before. */
  enqueue(tx: Executor, request: DeliveryRequest): Promise<boolean>;
  /** Cancels queued, not yet attempted deliveries of a page (acknowledged or resolved); returns how many. */
  cancelPending(tx: Executor, pageId: string, filter?: { before?: number }): Promise<number>;
}
