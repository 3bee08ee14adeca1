import type { Actor } from '../auth/roles.js';
import type { Executor } from '../db/database.js';

export interface AuditEntry {
  seq: number;
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  /** SHA-256 of the canonical JSON of the change. */
  digest: string;
  details: unknown;
  prevHash: string;
  hash: string;
}

export interface AuditInput {
  actor: Actor;
  /** Dotted verb, e.g. `resources.apply`, `tokens.create`. */
  action: string;
  /** What was changed, e.g. `Service/feed`, `token/ci`. */
  target: string;
  /** The change itself (digested; kept as details). Never secrets. */
  change?: unknown;
}

export interface AuditVerifyResult {
  ok: boolean;
  checked: number;
  /** The first row whose hash or link to its predecessor does not hold. */
  brokenAt?: { seq: number; id: string; reason: string };
}

export interface Audit {
  /** Appends inside the mutation's transaction, so only committed mutations are audited. */
  record(tx: Executor, input: AuditInput): Promise<void>;
  list(filter?: {
    actor?: string;
    action?: string;
    target?: string;
    since?: number;
    limit?: number;
    beforeSeq?: number;
  }): Promise<AuditEntry[]>;
  verify(): Promise<AuditVerifyResult>;
}
