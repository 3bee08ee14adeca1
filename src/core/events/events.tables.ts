import type { Generated } from 'kysely';

export interface EventsTable {
  seq: Generated<number>;
  id: string;
  type: string;
  at: number;
  actor: string | null;
  service: string | null;
  subject: string | null;
  change: number;
  data: string;
}

export interface EventCursorsTable {
  subscriber: string;
  seq: number;
  failures: number;
  last_error: string | null;
  updated_at: number;
}

declare module '../db/schema.js' {
  interface Schema {
    events: EventsTable;
    event_cursors: EventCursorsTable;
  }
}
