import type { Selectable } from 'kysely';
import type { Executor } from '../../../core/db/database.js';
import type { DeliveryFreezesTable } from './freezes.tables.js';

// SQL for the freezes part's own tables: API freezes and the window watcher's last announcement.

export type ApiFreezeRow = Selectable<DeliveryFreezesTable>;

const toRow = (r: ApiFreezeRow): ApiFreezeRow => ({
  ...r,
  created_at: Number(r.created_at),
  lifted_at: r.lifted_at === null ? null : Number(r.lifted_at),
});

export async function getApiFreeze(ex: Executor, key: string): Promise<ApiFreezeRow | undefined> {
  const row = await ex.selectFrom('delivery_freezes').selectAll().where('key', '=', key).executeTakeFirst();
  return row && toRow(row);
}

/** API freezes not lifted; with `service`, those that name it or '*'. */
export async function activeApiFreezes(ex: Executor, service?: string): Promise<ApiFreezeRow[]> {
  let q = ex.selectFrom('delivery_freezes').selectAll().where('lifted_at', 'is', null);
  if (service !== undefined) q = q.where('service', 'in', [service, '*']);
  const rows = await q.orderBy('created_at').orderBy('key').execute();
  return rows.map(toRow);
}

export async function putApiFreeze(ex: Executor, row: ApiFreezeRow): Promise<void> {
  await ex
    .insertInto('delivery_freezes')
    .values(row)
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        service: row.service,
        reason: row.reason,
        created_at: row.created_at,
        created_by: row.created_by,
        lifted_at: row.lifted_at,
        lifted_by: row.lifted_by,
      }),
    )
    .execute();
}

export async function markLifted(ex: Executor, key: string, at: number, by: string): Promise<boolean> {
  const result = await ex
    .updateTable('delivery_freezes')
    .set({ lifted_at: at, lifted_by: by })
    .where('key', '=', key)
    .where('lifted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Services the watcher last announced as frozen by a Freeze resource. */
export async function announcedServices(ex: Executor, name: string): Promise<string[]> {
  const row = await ex.selectFrom('delivery_freeze_windows').select('services').where('name', '=', name).executeTakeFirst();
  return row ? (JSON.parse(row.services) as string[]) : [];
}

export async function putAnnounced(ex: Executor, name: string, services: string[], now: number): Promise<void> {
  if (services.length === 0) {
    await ex.deleteFrom('delivery_freeze_windows').where('name', '=', name).execute();
    return;
  }
  const value = JSON.stringify(services);
  await ex
    .insertInto('delivery_freeze_windows')
    .values({ name, services: value, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ services: value, updated_at: now }))
    .execute();
}
