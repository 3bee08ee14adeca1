import type { Selectable } from 'kysely';
import { canonicalJson, sha256Hex } from '../canonical-json.js';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import { JOURNAL_LOCK, lockForTransaction } from '../db/locks.js';
import { newId } from '../ids.js';
import type { Audit, AuditEntry, AuditVerifyResult } from './audit.js';
import type { AuditLogTable } from './audit.tables.js';

/** The hash the first row links to. */
export const GENESIS_HASH = '0'.repeat(64);

/** A row's hash covers its predecessor's hash and every field, so editing, removing or reordering a row breaks the chain. */
export function rowHash(prevHash: string, row: Pick<AuditEntry, 'id' | 'at' | 'actor' | 'action' | 'target' | 'digest'>): string {
  return sha256Hex(
    `${prevHash}\n${canonicalJson({ id: row.id, at: row.at, actor: row.actor, action: row.action, target: row.target, digest: row.digest })}`,
  );
}

const toEntry = (row: Selectable<AuditLogTable>): AuditEntry => ({
  seq: Number(row.seq),
  id: row.id,
  at: Number(row.at),
  actor: row.actor,
  action: row.action,
  target: row.target,
  digest: row.digest,
  details: JSON.parse(row.details),
  prevHash: row.prev_hash,
  hash: row.hash,
});

/** The hash-chained audit log. */
export function createAudit(options: { database: Database; clock: Clock }): Audit {
  const { database, clock } = options;
  const db = database.db;

  return {
    async record(tx, input) {
      // Appends are serialised so each row links to the true predecessor.
      await lockForTransaction(tx, database, JOURNAL_LOCK);
      const last = await tx.selectFrom('audit_log').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
      const details = canonicalJson(input.change ?? null);
      const row = {
        id: newId('aud', clock.now()),
        at: clock.now(),
        actor: input.actor.kind === 'system' ? 'system' : `token:${input.actor.name}`,
        action: input.action,
        target: input.target,
        digest: sha256Hex(details),
      };
      const prevHash = last?.hash ?? GENESIS_HASH;
      await tx
        .insertInto('audit_log')
        .values({ ...row, details, prev_hash: prevHash, hash: rowHash(prevHash, row) })
        .execute();
    },

    async list(filter = {}) {
      let q = db.selectFrom('audit_log').selectAll();
      if (filter.actor) q = q.where('actor', 'in', [filter.actor, `token:${filter.actor}`]);
      if (filter.action) q = q.where('action', 'like', `${filter.action.replace(/[%_]/g, '\\$&')}%`);
      if (filter.target) q = q.where('target', '=', filter.target);
      if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
      if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq);
      const rows = await q
        .orderBy('seq', 'desc')
        .limit(Math.min(filter.limit ?? 100, 1000))
        .execute();
      return rows.map(toEntry);
    },

    async verify(): Promise<AuditVerifyResult> {
      let prev = GENESIS_HASH;
      let after = 0;
      let checked = 0;
      for (;;) {
        const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(1000).execute();
        for (const raw of rows) {
          const row = toEntry(raw);
          const broken = (reason: string): AuditVerifyResult => ({ ok: false, checked, brokenAt: { seq: row.seq, id: row.id, reason } });
          if (sha256Hex(raw.details) !== row.digest) return broken('details do not match the recorded digest (row edited)');
          if (row.prevHash !== prev) return broken('does not link to the previous row (a row before it was removed or altered)');
          if (rowHash(prev, row) !== row.hash) return broken('hash does not match the row contents (row edited)');
          prev = row.hash;
          after = row.seq;
          checked++;
        }
        if (rows.length < 1000) return { ok: true, checked };
      }
    },
  };
}
