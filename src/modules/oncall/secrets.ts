import { randomBytes } from 'node:crypto';
import type { Executor } from '../../core/db/database.js';
import type { Core } from '../../core/module.js';

export type SecretPurpose = 'webhook-signing' | 'action-links';

/**
 * Server-wide keys generated on first use and kept in the store, so every replica signs and
 * verifies with the same key and a restart keeps issued links valid.
 */
export interface Secrets {
  /** Pass `tx` when inside a transaction (on SQLite a read outside it would wait for it). */
  get(purpose: SecretPurpose, tx?: Executor): Promise<Buffer>;
}

export function createSecrets(core: Core): Secrets {
  const cache = new Map<SecretPurpose, Buffer>();
  return {
    async get(purpose, tx = core.db) {
      const cached = cache.get(purpose);
      if (cached) return cached;
      const read = () => tx.selectFrom('oncall_secrets').select('value').where('purpose', '=', purpose).executeTakeFirst();
      let row = await read();
      if (!row) {
        // Two replicas may race to create it: the first insert wins and both read the winner.
        await tx
          .insertInto('oncall_secrets')
          .values({ purpose, value: randomBytes(32).toString('base64'), created_at: core.clock.now() })
          .onConflict((oc) => oc.column('purpose').doNothing())
          .execute();
        row = await read();
      }
      const key = Buffer.from(row!.value, 'base64');
      cache.set(purpose, key);
      return key;
    },
  };
}
