import { DIALECTS, openTestDatabase, type TestDatabase } from '../../testing/databases.js';
import type { Audit } from '../audit/audit.js';
import { auditMigrations } from '../audit/audit.migrations.js';
import { createAudit } from '../audit/chain.js';
import type { Actor } from '../auth/roles.js';
import { FakeClock } from '../clock.js';
import type { DialectName } from '../db/database.js';
import { migrate } from '../db/migrations.js';
import type { Events } from '../events/events.js';
import { eventsMigrations } from '../events/events.migrations.js';
import { createEvents } from '../events/outbox.js';
import { createLogger } from '../logger.js';
import { createResources } from './apply.js';
import type { Resources } from './resources.js';
import { resourcesMigrations } from './resources.migrations.js';

export { DIALECTS };

export interface ResourcesHarness {
  database: TestDatabase;
  resources: Resources;
  events: Events;
  audit: Audit;
  clock: FakeClock;
  destroy(): Promise<void>;
}

export const testActor: Actor = { kind: 'token', name: 'ana', role: 'deployer', tokenId: 'tok_test' };

/** Real resources over a fresh store with the real outbox and audit chain, for tests of kinds. */
export async function openResourcesHarness(dialect: DialectName): Promise<ResourcesHarness> {
  const database = await openTestDatabase(dialect);
  await migrate(database, [{ module: 'core', migrations: [...eventsMigrations, ...auditMigrations, ...resourcesMigrations] }]);
  const clock = new FakeClock('2026-03-01T00:00:00Z');
  const logger = createLogger({ level: 'silent' });
  const events = createEvents({ database, clock, logger });
  const audit = createAudit({ database, clock });
  const resources = createResources({ database, events, audit, clock, logger });
  return {
    database,
    resources,
    events,
    audit,
    clock,
    async destroy() {
      await events.stop();
      await database.destroy();
    },
  };
}
