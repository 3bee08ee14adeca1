import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../testing/databases.js';
import { systemActor } from '../auth/roles.js';
import { FakeClock } from '../clock.js';
import type { Audit } from './audit.js';
import { auditMigrations } from './audit.migrations.js';
import { createAudit } from './chain.js';

describe.each(DIALECTS)('audit chain on %s', (dialect) => {
  let database: TestDatabase;
  let audit: Audit;

  beforeEach(async () => {
    database = await openTestDatabase(dialect, [{ module: 'core', migrations: auditMigrations }]);
    audit = createAudit({ database, clock: new FakeClock() });
    for (let i = 0; i < 5; i++) {
      await database.db
        .transaction()
        .execute((tx) => audit.record(tx, { actor: systemActor, action: 'resources.apply', target: `Service/s${i}`, change: { tier: i } }));
    }
  });
  afterEach(() => database.destroy());

  it('links every row to its predecessor and verifies intact', async () => {
    const rows = await audit.list();
    expect(rows.map((r) => r.target)).toEqual(['Service/s4', 'Service/s3', 'Service/s2', 'Service/s1', 'Service/s0']);
    expect(rows[0].prevHash).toBe(rows[1].hash);
    expect(await audit.verify()).toEqual({ ok: true, checked: 5 });
  });

  it('names the first broken row when details are edited', async () => {
    await database.db.updateTable('audit_log').set({ details: '{"tier":9}' }).where('target', '=', 'Service/s2').execute();
    const result = await audit.verify();
    expect(result.ok).toBe(false);
    expect(result.checked).toBe(2);
    const s2 = (await audit.list({ target: 'Service/s2' }))[0];
    expect(result.brokenAt?.seq).toBe(s2.seq);
    expect(result.brokenAt?.reason).toMatch(/digest/);
  });

  it('detects an edited actor even with a recomputed digest', async () => {
    await database.db.updateTable('audit_log').set({ actor: 'token:mallory' }).where('target', '=', 'Service/s1').execute();
    const result = await audit.verify();
    expect(result.ok).toBe(false);
    expect(result.brokenAt?.reason).toMatch(/hash/);
  });

  it('detects a removed row at its successor', async () => {
    const s3 = (await audit.list({ target: 'Service/s3' }))[0];
    await database.db.deleteFrom('audit_log').where('target', '=', 'Service/s2').execute();
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, brokenAt: { seq: s3.seq } });
    expect(result.brokenAt?.reason).toMatch(/previous row/);
  });

  it('records nothing when the mutation rolls back', async () => {
    await expect(
      database.db.transaction().execute(async (tx) => {
        await audit.record(tx, { actor: systemActor, action: 'x', target: 'y' });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await audit.list()).length).toBe(5);
    const n = await sql<{ n: number }>`select count(*) as n from audit_log`.execute(database.db);
    expect(Number(n.rows[0].n)).toBe(5);
  });
});
