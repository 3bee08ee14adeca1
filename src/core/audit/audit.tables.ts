import type { Generated } from 'kysely';

export interface AuditLogTable {
  seq: Generated<number>;
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  digest: string;
  details: string;
  prev_hash: string;
  hash: string;
}

declare module '../db/schema.js' {
  interface Schema {
    audit_log: AuditLogTable;
  }
}
